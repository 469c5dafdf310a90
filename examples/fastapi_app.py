"""consentkit on FastAPI: the banner, a gated script, a marketing cookie, a route template.

Run it from the repository's root (any secret of 32 characters or more)::

    export CONSENTKIT_SECRET="$(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
    uvicorn examples.fastapi_app:app

Then open http://127.0.0.1:8000/ and choose in the banner. ``/marketing`` sets the ``_fbp``
cookie only once marketing is granted; ``/consent-state`` shows what the server read.
Page views are stored in ``consentkit.sqlite3`` (or ``CONSENTKIT_STORE``) by route template:
``/items/1`` and ``/items/2`` both count as ``/items/{item_id}``.
"""

import os
from typing import Annotated

from fastapi import Depends, FastAPI, Response
from fastapi.responses import HTMLResponse

from consentkit import Category, Consent, ConsentMiddleware
from consentkit.dependencies import current_consent

CATEGORIES = [
    Category("analytics", title="Analytics", description="Counts visits without identifying you."),
    Category(
        "marketing", title="Marketing", description="Measures ad campaigns.", cookies=["_fbp"]
    ),
]

app = FastAPI()
app.add_middleware(
    ConsentMiddleware,
    secret_key=os.environ["CONSENTKIT_SECRET"],
    store=os.environ.get("CONSENTKIT_STORE", "sqlite:///consentkit.sqlite3"),
    categories=CATEGORIES,
)


def page(title: str, text: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<script src="/consentkit/banner.js" defer></script>
</head><body>
<nav><a href="/">Home</a> <a href="/items/1">Item 1</a> <a href="/marketing">Marketing</a>
<a href="/consent-state">Consent state</a></nav>
<h1>{title}</h1>
<p>{text}</p>
<button type="button" data-consentkit-open>Cookie preferences</button>
<script type="text/plain" data-category="analytics" data-src="/analytics.js"></script>
</body></html>"""


@app.get("/", response_class=HTMLResponse)
async def home() -> str:
    return page("Home", "Choose in the banner: nothing is counted before.")


@app.get("/items/{item_id}", response_class=HTMLResponse)
async def item(item_id: int) -> str:
    return page(f"Item {item_id}", "Counted as /items/{item_id}.")


@app.get("/marketing", response_class=HTMLResponse)
async def marketing(response: Response) -> str:
    # consentkit drops this cookie from the response until marketing is granted
    response.set_cookie("_fbp", "fb.1.1700000000000.1234567890", max_age=90 * 24 * 3600)
    return page("Marketing", "This page sets the _fbp cookie.")


@app.get("/consent-state")
async def consent_state(consent: Annotated[Consent, Depends(current_consent)]) -> dict[str, object]:
    return {
        "decided": consent.decided,
        "categories": sorted(consent.categories),
        "analytics": consent.allows("analytics"),
        "marketing": consent.allows("marketing"),
    }


@app.get("/analytics.js")
async def analytics_js() -> Response:
    script = "console.log('analytics granted: this script was loaded');"
    return Response(script, media_type="text/javascript")
