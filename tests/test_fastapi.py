"""A FastAPI app reads the consent through a dependency."""

from __future__ import annotations

import pytest
from support import CATEGORIES, SECRET, visit

from consentkit import ConfigurationError, ConsentMiddleware

fastapi = pytest.importorskip("fastapi")

pytestmark = pytest.mark.anyio


def build(store_url, *, with_middleware=True):
    from fastapi import Depends

    from consentkit import Consent
    from consentkit.dependencies import current_consent

    app = fastapi.FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: int, consent: Consent = Depends(current_consent)):
        return {"item": item_id, "analytics": consent.allows("analytics")}

    if with_middleware:
        app.add_middleware(
            ConsentMiddleware,
            secret_key=SECRET,
            store=store_url,
            categories=CATEGORIES,
            flush_interval=3600,
        )
    return app


async def test_the_dependency_gives_the_visitors_consent(store_url):
    async with visit(build(store_url)) as browser:
        assert (await browser.get("/items/1")).json() == {"item": 1, "analytics": False}
        await browser.post("/consentkit/consent", json={"action": "accept_all"})
        assert (await browser.get("/items/2")).json() == {"item": 2, "analytics": True}


async def test_fastapi_route_templates_are_the_counted_pages(store_url):
    from fastapi.responses import HTMLResponse

    app = build(store_url)

    @app.get("/articles/{slug}", response_class=HTMLResponse)
    async def article(slug: str):
        return "<p>article</p>"

    async with visit(app) as browser:
        await browser.post("/consentkit/consent", json={"action": "accept_all"})
        await browser.get("/articles/one")
        await browser.get("/articles/two")
    from consentkit import open_store

    rows = open_store(store_url).query(
        {"metrics": ["pageviews"], "dimensions": ["event:page"], "date_range": "day"}
    )["results"]
    assert rows == [{"dimensions": ["/articles/{slug}"], "metrics": [2]}]


async def test_without_the_middleware_the_error_says_what_to_add(store_url):
    from starlette.requests import Request

    from consentkit.dependencies import current_consent

    with pytest.raises(ConfigurationError, match="add ConsentMiddleware"):
        current_consent(Request({"type": "http", "headers": []}))
