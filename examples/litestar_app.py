"""consentkit on Litestar: the banner, a gated script, a marketing cookie, a route template.

Run it from the repository's root (any secret of 32 characters or more)::

    export CONSENTKIT_SECRET="$(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
    uvicorn examples.litestar_app:app

Then open http://127.0.0.1:8000/ and choose in the banner. ``/marketing`` sets the ``_fbp``
cookie only once marketing is granted; ``/consent-state`` shows what the server read.
Page views are stored in ``consentkit.sqlite3`` (or ``CONSENTKIT_STORE``) by route template:
``/items/1`` and ``/items/2`` both count as ``/items/{item_id}``.

``ConsentMiddleware`` wraps the Litestar app; Litestar's ``middleware=[...]`` list would
build it once per route, and is refused at start-up.
"""

import os

from litestar import Litestar, MediaType, Request, Response, get
from litestar.datastructures import Cookie
from litestar.params import FromPath

from consentkit import Category, Consent, ConsentMiddleware

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


@get("/", media_type=MediaType.HTML)
async def home() -> str:
    return page("Home", "Choose in the banner: nothing is counted before.")


@get("/items/{item_id:int}", media_type=MediaType.HTML)
async def item(item_id: FromPath[int]) -> str:
    return page(f"Item {item_id}", "Counted as /items/{item_id}.")


@get("/marketing", media_type=MediaType.HTML)
async def marketing() -> Response[str]:
    # consentkit drops this cookie from the response until marketing is granted
    fbp = Cookie(key="_fbp", value="fb.1.1700000000000.1234567890", max_age=90 * 24 * 3600)
    return Response(page("Marketing", "This page sets the _fbp cookie."), cookies=[fbp])


@get("/consent-state")
async def consent_state(request: Request) -> dict[str, object]:
    consent: Consent = request.scope["state"]["consent"]
    return {
        "decided": consent.decided,
        "categories": sorted(consent.categories),
        "analytics": consent.allows("analytics"),
        "marketing": consent.allows("marketing"),
    }


@get("/analytics.js", media_type="text/javascript")
async def analytics_js() -> str:
    return "console.log('analytics granted: this script was loaded');"


app = ConsentMiddleware(
    Litestar([home, item, marketing, consent_state, analytics_js]),
    secret_key=os.environ["CONSENTKIT_SECRET"],
    store=os.environ.get("CONSENTKIT_STORE", "sqlite:///consentkit.sqlite3"),
    categories=CATEGORIES,
)
