"""What the tests share: the test site's routes and categories, a browser-like client that
runs an app with its lifespan, a controllable clock, and direct access to a store's database.

Tests import these from here; ``conftest.py`` holds only pytest's fixtures and hooks.
"""

from __future__ import annotations

import os
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from consentkit import Category

SECRET = "test-secret-of-at-least-32-characters"

SHARED_GEOIP = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "geoip"

UA = {
    "iphone": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "windows_chrome": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
    "ipad": "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
    "googlebot": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
}


class Clock:
    """A controllable clock, passed to the middleware as ``clock=``."""

    def __init__(self, now: float = 1_790_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def html_page(request: Request) -> Response:
    return HTMLResponse("<!doctype html><p>page</p>")


async def item_page(request: Request) -> Response:
    return HTMLResponse(f"<p>item {request.path_params['item_id']}</p>")


async def json_data(request: Request) -> Response:
    return JSONResponse({"ok": True})


async def missing(request: Request) -> Response:
    return HTMLResponse("<p>gone</p>", status_code=404)


async def consent_echo(request: Request) -> Response:
    consent = request.state.consent
    return JSONResponse(
        {
            "decided": consent.decided,
            "categories": sorted(consent.categories),
            "analytics": consent.allows("analytics"),
            "policy_version": consent.policy_version,
            "gpc": consent.gpc,
        }
    )


async def sets_cookies(request: Request) -> Response:
    response = HTMLResponse("<p>cookies</p>", headers={"Vary": "Accept-Encoding"})
    response.set_cookie("_ga", "GA1.1.123")
    response.set_cookie("_ga_XYZ", "GS1.1.456")
    response.set_cookie("_fbp", "fb.1.789")
    response.set_cookie("session", "abc")
    return response


async def ws_consent(websocket: WebSocket) -> None:
    await websocket.accept()
    consent = websocket.scope["state"]["consent"]
    await websocket.send_json(
        {"decided": consent.decided, "categories": sorted(consent.categories)}
    )
    await websocket.close()


ROUTES = [
    Route("/", html_page),
    Route("/items/{item_id}", item_page),
    Route("/api/data", json_data),
    Route("/missing", missing),
    Route("/consent-echo", consent_echo),
    Route("/sets-cookies", sets_cookies),
    Route("/form", html_page, methods=["POST"]),
    Route("/text", lambda r: PlainTextResponse("plain")),
    WebSocketRoute("/ws", ws_consent),
]


CATEGORIES = [
    Category(
        "analytics", title="Analytics", description="Counts visits.", cookies=["_ga", "_ga_*"]
    ),
    Category("marketing", title="Marketing", description="Ads.", cookies=["_fbp"]),
]


POSTGRES_URL = os.environ.get(
    "CONSENTKIT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)

STORES = ("sqlite", "postgresql")


@contextmanager
def postgres_schema(admin: Any) -> Iterator[str]:
    """A store URL whose tables go into a new, empty schema, dropped afterwards."""
    name = f"ck_t_{uuid.uuid4().hex[:12]}"
    admin.execute(f"CREATE SCHEMA {name}")
    joiner = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{joiner}options=-csearch_path%3D{name}&application_name={name}"
    finally:
        # Connections of a store the test never closed would otherwise linger.
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        admin.execute(f"DROP SCHEMA {name} CASCADE")


@contextmanager
def raw_database(url: str) -> Iterator[Callable[..., list[Any]]]:
    """Run SQL on a store's database as someone with a database shell could, ``?`` for
    parameters on either backend; committed at the end of the block."""
    if url.startswith("sqlite:"):
        lite = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            with lite:
                yield lambda sql, params=(): lite.execute(sql, params).fetchall()
        finally:
            lite.close()
        return
    import psycopg

    with psycopg.connect(url) as pg:

        def run(sql: str, params: Any = ()) -> list[Any]:
            cursor = pg.execute(sql.replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description else []

        yield run


@asynccontextmanager
async def visit(
    app: Starlette,
    *,
    base_url: str = "http://testserver",
    client: tuple[str, int] = ("127.0.0.1", 5000),
) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app with its lifespan and give a browser-like client (it keeps cookies)."""
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as browser:
            yield browser


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """Set-Cookie headers by cookie name."""
    return {v.split("=", 1)[0]: v for v in response.headers.get_list("set-cookie")}


SKETCH_KEY = b"k" * 32


def write_views(
    store: Any,
    site: str,
    cells: list[tuple[int, tuple[str, str, str, str, str], list[Any], int]],
    bots: list[tuple[int, int]] = (),  # type: ignore[assignment]
) -> None:
    """Count page views through the real buffer and flush them to ``store``.

    Each cell is (hour, (country, device, browser, os, page), visitor names, page views):
    every visitor is seen once, and the first ones again until the page views add up.
    """
    import asyncio

    from consentkit.analytics.buffer import PageViewBuffer
    from consentkit.analytics.hll import visitor_hash

    buffer = PageViewBuffer(store, site=site)
    for hour, place, visitors, views in cells:
        assert views >= len(visitors) > 0
        hashes = [visitor_hash(SKETCH_KEY, str(v)) for v in visitors]
        for i in range(views):
            buffer.count(hour, place[:4], place[4], hashes[i % len(hashes)])
    for hour, n in bots:
        for _ in range(n):
            buffer.count_bot(hour)
    asyncio.run(buffer.flush())


def put_cookie(browser: httpx.AsyncClient, name: str, value: str) -> None:
    """Replace a cookie in the client's jar, as a visitor editing their cookies would."""
    browser.cookies.delete(name)
    browser.cookies.set(name, value, domain="testserver.local")


def poll(check: Callable[[], object], *, timeout: float = 10.0, what: str = "it") -> None:
    """Wait until ``check()`` is true (a flush has landed, a drain has run): never a fixed
    sleep, which is either too short on a loaded machine or wasted on an idle one."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.01)


async def eventually(check: Callable[[], object], *, what: str = "it") -> None:
    """``poll`` for tests running in the event loop (the app's flusher keeps running)."""
    try:
        with anyio.fail_after(10):
            while not check():  # noqa: ASYNC110 (a condition to poll, not an event to wait on)
                await anyio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"{what} did not happen within 10 s") from None


def decompressed_cube(url: str) -> bytes:
    """Every cube block and roll-up of a store, decompressed: what a byte scan of the files
    cannot see inside the compression (only numbers and sketch registers, if all is well)."""
    import zstandard

    with raw_database(url) as sql:
        blobs = [row[0] for row in sql("SELECT cells FROM ck_blocks")]
        blobs += [row[0] for row in sql("SELECT cells FROM ck_rollups")]
    return b"\n".join(zstandard.decompress(bytes(blob)) for blob in blobs)
