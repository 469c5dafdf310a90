"""Fixtures for the banner tests: a real app served by uvicorn, and Debian's Chromium.

Chromium is driven by Playwright for Python using the system binary (Playwright's own
browser download is not used). axe-core comes from the npm registry into
tests/browser/node_modules (``npm ci --prefix tests/browser``; .ci/run does it).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from support import poll

from consentkit import Category, ConsentMiddleware

CHROMIUM = os.environ.get("CONSENTKIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = Path(__file__).resolve().parent / "browser" / "node_modules" / "axe-core" / "axe.min.js"
STRICT_CSP = "default-src 'self'"
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="/site.css">
<script src="/consentkit/banner.js" defer></script>
</head><body>
<h1>{title}</h1>
<p>Some content that must not move when the banner appears.</p>
<p id="status">{status}</p>
{gated}
<button type="button" id="reopen" data-consentkit-open>Cookie settings</button>
<p class="long">Long page.</p>
</body></html>"""

GATED_INLINE = """<script type="text/plain" data-category="analytics" nonce="n0nce">
window.analyticsRuns = (window.analyticsRuns || 0) + 1;</script>"""
GATED_EXTERNAL = """<script type="text/plain" data-category="analytics" data-src="/gated.js">
</script>
<img id="pixel" alt="" data-category="marketing" data-src="/pixel.png" width="1" height="1">
<iframe id="frame" title="video" data-category="marketing" data-src="/frame"></iframe>"""


def _page(title: str, gated: str, headers: dict[str, str] | None = None) -> Callable[..., Any]:
    async def endpoint(request: Request) -> HTMLResponse:
        consent = request.state.consent
        status = "decided" if consent.decided else "undecided"
        return HTMLResponse(PAGE.format(title=title, status=status, gated=gated), headers=headers)

    return endpoint


async def gated_js(request: Request) -> Response:
    return Response(
        "window.externalRuns = (window.externalRuns || 0) + 1;", media_type="text/javascript"
    )


async def frame(request: Request) -> HTMLResponse:
    return HTMLResponse("<!doctype html><title>frame</title><p>embedded</p>")


async def pixel(request: Request) -> Response:
    return Response(PIXEL, media_type="image/png")


async def site_css(request: Request) -> Response:
    return Response(
        "body{font:16px/1.5 sans-serif;margin:2rem}.long{height:1200px}", media_type="text/css"
    )


def build_site(store_url: str, **options: Any) -> Starlette:
    routes = [
        Route("/", _page("Home", GATED_INLINE + GATED_EXTERNAL)),
        Route("/strict", _page("Strict", GATED_EXTERNAL, {"Content-Security-Policy": STRICT_CSP})),
        Route("/gated.js", gated_js),
        Route("/frame", frame),
        Route("/pixel.png", pixel),
        Route("/site.css", site_css),
        Route("/favicon.ico", pixel),
    ]
    settings: dict[str, Any] = {
        "secret_key": "browser-secret-of-at-least-32-characters",
        "store": store_url,
        "categories": [
            Category("analytics", title="Analytics", description="Counts visits."),
            Category("marketing", title="Marketing", description="Ads and videos."),
        ],
        "policy_version": "2026-11",
        "flush_interval": 0.2,
    }
    settings.update(options)
    app = Starlette(routes=routes)
    app.add_middleware(ConsentMiddleware, **settings)
    return app


class LiveServer:
    """uvicorn in a thread, on a free port of 127.0.0.1."""

    def __init__(self, app: Starlette) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    # Module scope, not session: Playwright's sync API keeps an event loop marked as running
    # in this thread while it is open, and the async (anyio) tests of other modules need to
    # start their own.
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not at {CHROMIUM} (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@contextmanager
def live_servers(
    folder: Path, build: Callable[..., Starlette], name: str = "site"
) -> Iterator[Callable[..., str]]:
    """``start(**options)`` serves ``build(store, **options)`` (each on a SQLite file of its
    own in ``folder``, unless ``store=`` is given) and returns its base URL; every server
    started stops on leaving."""
    servers: list[LiveServer] = []

    def start(**options: Any) -> str:
        store = options.pop("store", f"sqlite:///{folder / f'{name}{len(servers)}.sqlite3'}")
        server = LiveServer(build(store, **options)).__enter__()
        servers.append(server)
        return server.url

    try:
        yield start
    finally:
        for server in servers:
            server.__exit__()


@pytest.fixture
def live_site(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Serve the banner test site with given middleware options; returns its base URL."""
    with live_servers(tmp_path, build_site) as start:
        yield start


AXE_RUN = """async (context) => {
    const r = await axe.run(context === null ? document : context, {resultTypes: ['violations']});
    return r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
        .map(v => ({id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.map(n => n.target.join(' '))}));
}"""


def axe_problems(page: Any, axe_source: str, within: Any = None) -> list[dict[str, Any]]:
    """The serious and critical violations axe-core finds in the page, or ``within`` it (a
    CSS selector, or an axe context such as ``{"include": [[".ck-embed"]]}``)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source)
    found: list[dict[str, Any]] = page.evaluate(AXE_RUN, within)
    return found


def choose(page: Any, button: str) -> None:
    """Clicks a banner button and waits for the decision to be recorded and, when analytics
    was allowed, for the page's scripts to know it."""
    with page.expect_response(lambda r: r.url.endswith("/consentkit/consent")):
        page.get_by_role("button", name=button).click()
    if button == "Accept all":
        poll(lambda: page.evaluate("consentkit.allows('analytics')"), what="the banner's update")


def horizontal_overflow(page: Any) -> int:
    """How many CSS pixels the page is wider than the viewport (0 or less: it fits)."""
    overflow: int = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return overflow


@pytest.fixture
def axe_source() -> str:
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed at {AXE} (npm ci --prefix tests/browser)")
    return AXE.read_text()


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One test site with the default options, shared by the tests that need no others.

    Safe to share: everything a visitor decides lives in their own browser context's
    cookies; the store only gains ledger records.
    """
    store = f"sqlite:///{tmp_path_factory.mktemp('site') / 'consentkit.sqlite3'}"
    with LiveServer(build_site(store)) as server:
        yield server.url


@pytest.fixture
def new_page(chromium: Any) -> Iterator[Callable[..., Any]]:
    """Open a page in a fresh browser context (no cookies); contexts are closed afterwards.

    Keyword arguments go to ``Browser.new_context``; English and a 1280x720 desktop
    viewport unless told otherwise.
    """
    contexts: list[Any] = []

    def open_page(**options: Any) -> Any:
        settings: dict[str, Any] = {"locale": "en-US", "viewport": {"width": 1280, "height": 720}}
        settings.update(options)
        context = chromium.new_context(**settings)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()
