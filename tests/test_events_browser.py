"""Goals and a single-page app's navigations, in real Chromium against uvicorn.

The site is a small single-page app under ``Content-Security-Policy: default-src 'self'``:
the banner's tag with ``data-consentkit-spa``, ``events.js`` after it, and the app's own
script, which moves between views with ``history.pushState`` and calls
``consentkit.track("signup")``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_support import LiveServer, choose
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from support import SECRET, poll

from consentkit import Category, ConsentMiddleware, open_store

APP_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>App</title>
<script src="/consentkit/banner.js" data-consentkit-spa defer></script>
<script src="/consentkit/events.js" defer></script>
<script src="/app.js" defer></script>
</head><body><h1>App</h1><p id="view"></p></body></html>"""

APP_JS = """
window.go = (path) => { history.pushState({}, "", path); };
window.swap = (path) => { history.replaceState({}, "", path); };
"""


def app_site(store_url: str) -> Starlette:
    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(APP_PAGE, headers={"Content-Security-Policy": "default-src 'self'"})

    async def script(request: Request) -> Response:
        return Response(APP_JS, media_type="text/javascript")

    app = Starlette(
        routes=[Route("/app", page), Route("/app/{rest:path}", page), Route("/app.js", script)]
    )
    app.add_middleware(
        ConsentMiddleware,
        secret_key=SECRET,
        store=store_url,
        categories=[Category("analytics", title="Analytics", description="Counts visits.")],
        flush_interval=0.1,
    )
    return app


@pytest.fixture
def spa(tmp_path: Path):
    store_url = f"sqlite:///{tmp_path / 'spa.sqlite3'}"
    with LiveServer(app_site(store_url)) as server:
        yield server.url, store_url


def by_page(store_url: str, query: dict) -> dict[str, int]:
    store = open_store(store_url)
    try:
        answer = store.query({"date_range": "day", **query})
        return {r["dimensions"][0]: r["metrics"][0] for r in answer["results"]}
    finally:
        store.close()


def test_history_navigations_and_goals_are_counted_once(spa, new_page):
    base, store_url = spa
    page = new_page()
    sent: list[str] = []
    page.on(
        "request",
        lambda r: sent.append(r.post_data or "") if r.url.endswith("/consentkit/event") else None,
    )
    # Waits are Playwright's own (load, URL, responses): under this CSP a polled predicate
    # would need eval, which the page forbids.
    page.goto(base + "/app")  # after "load": the deferred scripts have run
    assert page.evaluate("typeof consentkit.track") == "function"
    # Before a decision nothing is sent: not a goal, not a navigation.
    assert page.evaluate("consentkit.track('signup')") is False
    page.evaluate("go('/app/early')")
    assert sent == []
    choose(page, "Accept all")
    page.evaluate("go('/app/settings?tab=billing')")
    page.evaluate("go('/app/users/12345')")
    page.go_back()  # popstate: back on /app/settings
    page.wait_for_url("**/app/settings?tab=billing")
    page.evaluate("swap('/app/settings?tab=profile')")  # the same page: not counted
    assert page.evaluate("consentkit.track('signup')") is True
    page.reload()  # the server counts the HTML; the script does not count it again
    assert page.evaluate("typeof consentkit.track") == "function"
    views = {"metrics": ["pageviews"], "dimensions": ["event:page"]}
    poll(lambda: sum(by_page(store_url, views).values()) >= 4, what="the page views' flush")
    assert by_page(store_url, views) == {
        "/app/settings": 2,  # there, and back again; not for the new query string
        "/app/users/{id}": 1,
        "/app/{rest}": 1,  # the reload, counted by the server under its route template
    }
    goals = {"metrics": ["events"], "dimensions": ["event:goal"]}
    poll(lambda: by_page(store_url, goals) == {"signup": 1}, what="the goal's flush")
    where = {"metrics": ["events"], "dimensions": ["event:page"], "filters": [
        ["is", "event:goal", ["signup"]]
    ]}  # fmt: skip
    assert by_page(store_url, where) == {"/app/settings": 1}
    assert all("tab=" not in body for body in sent)  # the query string never left the page
