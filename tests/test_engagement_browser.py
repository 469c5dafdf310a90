"""Time spent and scroll depth, measured by events.js in real Chromium against uvicorn.

A long article under ``Content-Security-Policy: default-src 'self'``: a visitor who accepts
reads it for a while, scrolls part of the way and follows a link; the site owner then sees
that page's engaged time and scroll depth. A visitor who refuses sends nothing at all.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from browser_support import LiveServer, axe_problems, choose
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from support import SECRET, poll

from consentkit import Category, ConsentMiddleware, open_store

ARTICLE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<script src="/consentkit/banner.js" defer></script>
<script src="/consentkit/events.js" defer></script>
</head><body>
<main><h1>{title}</h1><a href="/next">Next article</a>
{paragraphs}</main></body></html>"""
PARAGRAPH = "<p>" + "A sentence to read, one of many in a long article. " * 12 + "</p>"
SPA = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>App</title>
<script src="/consentkit/banner.js" data-consentkit-spa defer></script>
<script src="/consentkit/events.js" defer></script>
<script src="/app.js" defer></script>
</head><body><main><h1>App</h1><p>A short view.</p></main></body></html>"""
APP_JS = 'window.go = (path) => { history.pushState({}, "", path); };'
READING = 1.5  # seconds the visitor spends reading, with the page in front of them
QUERY = {"metrics": ["pageviews", "time_on_page", "scroll_depth"], "date_range": "day"}


class EventsSeen:
    """Outermost: the body of every request that reaches the server for the event endpoint.
    A beacon sent by a page being left is not reported to Playwright's page events, so it
    is watched for where it lands."""

    def __init__(self, app: ASGIApp, *, bodies: list[bytes]) -> None:
        self.app, self.bodies = app, bodies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/consentkit/event"):
            return await self.app(scope, receive, send)
        body = b""

        async def recorded() -> Message:
            nonlocal body
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                self.bodies.append(body)
            return message

        await self.app(scope, recorded, send)


def article_site(store_url: str, bodies: list[bytes], **options: object) -> Starlette:
    def article(title: str, paragraphs: int):
        async def endpoint(request: Request) -> HTMLResponse:
            html = ARTICLE.format(title=title, paragraphs=PARAGRAPH * paragraphs)
            return HTMLResponse(html, headers={"Content-Security-Policy": "default-src 'self'"})

        return endpoint

    async def spa(request: Request) -> HTMLResponse:
        return HTMLResponse(SPA, headers={"Content-Security-Policy": "default-src 'self'"})

    async def script(request: Request) -> Response:
        return Response(APP_JS, media_type="text/javascript")

    app = Starlette(routes=[
        Route("/articles/{slug}", article("A long read", 60)),
        Route("/next", article("Next", 2)),
        Route("/app/{rest:path}", spa),
        Route("/app.js", script),
    ])  # fmt: skip
    app.add_middleware(
        ConsentMiddleware,
        secret_key=SECRET,
        store=store_url,
        categories=[Category("analytics", title="Analytics", description="Counts visits.")],
        flush_interval=0.1,
        **options,
    )
    app.add_middleware(EventsSeen, bodies=bodies)
    return app


@pytest.fixture
def served(tmp_path: Path):
    def start(**options: object):
        store_url = f"sqlite:///{tmp_path / 'engagement.sqlite3'}"
        bodies: list[bytes] = []
        server = LiveServer(article_site(store_url, bodies, **options)).__enter__()
        started.append(server)
        return server.url, store_url, bodies

    started: list[LiveServer] = []
    yield start
    for server in started:
        server.__exit__()


def answer(store_url: str, **query: object) -> list[tuple[list[str], list[object]]]:
    store = open_store(store_url)
    try:
        found = store.query({**QUERY, **query})["results"]
        return [(row["dimensions"], row["metrics"]) for row in found]
    finally:
        store.close()


def test_a_reader_is_counted_with_the_time_and_depth_they_read(served, new_page, axe_source):
    base, store_url, sent = served()
    page = new_page()
    page.goto(base + "/articles/how-to-read")
    choose(page, "Accept all")
    started = time.monotonic()
    page.mouse.move(200, 300)
    page.mouse.wheel(0, 2500)  # scrolls part of the way down the article
    poll(lambda: page.evaluate("window.scrollY") > 0, what="the scroll")
    depth = page.evaluate(
        "Math.round(100 * (scrollY + innerHeight) / document.documentElement.scrollHeight)"
    )
    assert 10 < depth < 90
    page.wait_for_timeout(READING * 1000)  # the reading itself: what is measured
    serious = [v["id"] for v in axe_problems(page, axe_source)]
    assert serious == []
    assert sent == []  # nothing while the page is read: one report as it is left
    read_for = time.monotonic() - started
    page.get_by_role("link", name="Next article").click()
    page.wait_for_url("**/next")
    poll(lambda: sent, what="the engagement beacon")
    assert len(sent) == 1 and b'"page":"/articles/how-to-read"' in sent[0]

    poll(lambda: answer(store_url)[0][1][1] is not None, what="the report's flush")
    by_page = {labels[0]: values for labels, values in answer(store_url, dimensions=["event:page"])}
    # The article was loaded before the visitor accepted: its page view is not counted,
    # but the time read after accepting is, under the page's route template.
    seconds, scrolled = by_page["/articles/{slug}"][1:]
    assert READING <= seconds <= read_for + 0.5, (seconds, read_for)
    assert scrolled == depth
    assert answer(store_url) == [([], [1, seconds, float(depth)])]


def test_a_visitor_who_refused_sends_nothing(served, new_page):
    base, store_url, sent = served(count_refused=True)
    page = new_page()
    page.goto(base + "/articles/how-to-read")
    choose(page, "Reject all")
    page.mouse.move(200, 300)
    page.mouse.wheel(0, 2500)
    poll(lambda: page.evaluate("window.scrollY") > 0, what="the scroll")
    page.wait_for_timeout(READING * 1000)  # the reading
    page.get_by_role("link", name="Next article").click()
    page.wait_for_url("**/next")
    # Counted without a visitor (count_refused): the page views land, with no time. A
    # beacon would have left before the article was unloaded; two more pages are loaded
    # and counted after it, so one would have arrived by then.
    page.goto(base + "/articles/another")
    poll(lambda: answer(store_url)[0][1][0] >= 3, what="the anonymous page views' flush")
    assert answer(store_url) == [([], [3, None, None])]
    assert sent == []


def test_each_view_of_a_single_page_app_reports_its_own_time(served, new_page):
    base, store_url, sent = served()
    page = new_page()
    page.goto(base + "/app/inbox")
    choose(page, "Accept all")
    page.mouse.move(200, 300)
    page.wait_for_timeout(READING * 1000)  # reading the first view
    page.evaluate("go('/app/settings')")  # the first view's report, then a page view
    poll(lambda: len(sent) >= 2, what="the report and the page view")
    page.mouse.move(220, 320)
    page.wait_for_timeout(300)  # a glance at the second
    page.goto(base + "/next")  # leaving: the second view's report
    poll(lambda: len(sent) >= 3, what="the second report")
    reports = [body for body in sent if b"engagement" in body]
    assert b'"page":"/app/inbox"' in reports[0]
    assert b'"page":"/app/settings"' in reports[1]

    def engaged_by_page():
        return {
            labels[0]: values for labels, values in answer(store_url, dimensions=["event:page"])
        }

    # The last report may land after the page view of /next: wait for both reports.
    poll(lambda: engaged_by_page().get("/app/settings", [0, None])[1], what="the flush")
    by_page = engaged_by_page()
    # A catch-all route is no template for a report: the path is (as for the app's views).
    assert by_page["/app/inbox"][1] >= READING
    assert by_page["/app/inbox"][1] > by_page["/app/settings"][1] > 0
    assert by_page["/app/settings"][0] == 1


# Headless Chromium keeps every tab visible (bringing another to the front, minimising the
# window: still "visible"), so the tab going to the background is the page's own
# visibilityState turned to "hidden", with the event the browser would fire.
HIDEABLE = """Object.defineProperty(document, "visibilityState", {
    configurable: true, get: () => (window.hiddenTab ? "hidden" : "visible") });"""
HIDE = "window.hiddenTab = true; document.dispatchEvent(new Event('visibilitychange'))"


def test_a_tab_in_the_background_is_not_reading_time(served, new_page):
    base, store_url, sent = served()
    page = new_page()
    page.add_init_script(HIDEABLE)
    page.goto(base + "/articles/left-open")
    choose(page, "Accept all")
    started = time.monotonic()
    page.mouse.move(200, 300)
    page.wait_for_timeout(READING * 1000)  # read in front of the visitor
    page.evaluate(HIDE)  # another tab comes to the front
    read_for = time.monotonic() - started
    poll(lambda: sent, what="the report of the hidden tab")
    page.wait_for_timeout(2 * READING * 1000)  # left open behind the other tab
    page.mouse.move(250, 350)  # no reading: the tab is still hidden
    page.goto(base + "/next")  # closed at last: a page view once it lands, all sent has too
    poll(lambda: answer(store_url)[0][1][0] >= 1, what="the flush")
    assert len(sent) == 1  # once per page view
    seconds = answer(store_url)[0][1][1]
    assert READING <= seconds <= read_for + 0.5, (seconds, read_for)
