"""consentkit on Starlette: the banner, a gated script, a marketing cookie, a route template.

Run it from the repository's root (any secret of 32 characters or more)::

    export CONSENTKIT_SECRET="$(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
    uvicorn examples.starlette_app:app

Then open http://127.0.0.1:8000/ and choose in the banner. ``/marketing`` sets the ``_fbp``
cookie only once marketing is granted; ``/consent-state`` shows what the server read.
Page views are stored in ``consentkit.sqlite3`` (or ``CONSENTKIT_STORE``) by route template:
``/items/1`` and ``/items/2`` both count as ``/items/{item_id}``.
"""

import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from consentkit import Category, ConsentMiddleware

CATEGORIES = [
    Category("analytics", title="Analytics", description="Counts visits without identifying you."),
    Category(
        "marketing", title="Marketing", description="Measures ad campaigns.", cookies=["_fbp"]
    ),
]


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


async def home(request: Request) -> HTMLResponse:
    return HTMLResponse(page("Home", "Choose in the banner: nothing is counted before."))


async def item(request: Request) -> HTMLResponse:
    item_id: int = request.path_params["item_id"]
    return HTMLResponse(page(f"Item {item_id}", "Counted as /items/{item_id}."))


async def marketing(request: Request) -> HTMLResponse:
    response = HTMLResponse(page("Marketing", "This page sets the _fbp cookie."))
    # consentkit drops this cookie from the response until marketing is granted
    response.set_cookie("_fbp", "fb.1.1700000000000.1234567890", max_age=90 * 24 * 3600)
    return response


async def consent_state(request: Request) -> JSONResponse:
    consent = request.state.consent
    return JSONResponse(
        {
            "decided": consent.decided,
            "categories": sorted(consent.categories),
            "analytics": consent.allows("analytics"),
            "marketing": consent.allows("marketing"),
        }
    )


async def analytics_js(request: Request) -> Response:
    script = "console.log('analytics granted: this script was loaded');"
    return Response(script, media_type="text/javascript")


app = Starlette(
    routes=[
        Route("/", home),
        Route("/items/{item_id:int}", item),
        Route("/marketing", marketing),
        Route("/consent-state", consent_state),
        Route("/analytics.js", analytics_js),
    ]
)
app.add_middleware(
    ConsentMiddleware,
    secret_key=os.environ["CONSENTKIT_SECRET"],
    store=os.environ.get("CONSENTKIT_STORE", "sqlite:///consentkit.sqlite3"),
    categories=CATEGORIES,
)
