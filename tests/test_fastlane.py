"""The returning visitor's lane of the compiled build (``consentkit/fastlane.pyx``) against
the general way (``ReturningPath.page``, compiled from its Python source).

Two middlewares with the same settings serve the same requests, one called as a server
calls it (the lane, where it takes the request), the other through ``ReturningPath.page``:
what each app is sent, what the scope carries and what is counted must be the same, for
the requests the lane takes and for those it hands to the general way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from consentkit import Category, ConsentMiddleware
from consentkit.analytics.tally import Tally
from consentkit.compiled import is_compiled

pytestmark = pytest.mark.skipif(
    not is_compiled(), reason="the lane is the compiled build's (fastlane.pyx)"
)

SECRET = "a-test-secret-of-32-characters-or-more"
CHROME = (
    b"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    b"Chrome/120.0.0.0 Safari/537.36"
)
HTML = [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", b"5")]


class Site:
    """A middleware around an app that answers with the response of ``self.response``, and
    what it saw: the ``send`` it was given, the consent on the scope, the messages sent."""

    def __init__(
        self, tmp_path: Path, name: str, clock: list[float], inner: Any = None, **options: Any
    ) -> None:
        self.inner = inner  # an app to answer instead (Starlette's, say)
        self.response: dict[str, Any] = {"status": 200, "headers": HTML}
        self.sent: list[dict[str, Any]] = []
        self.sends: list[str] = []
        self.consents: list[frozenset[str]] = []
        self.middleware = ConsentMiddleware(
            self.app,
            secret_key=SECRET,
            store=f"sqlite:///{tmp_path / (name + '.sqlite3')}",
            categories=[Category("analytics", "Counts page views")],
            clock=lambda: clock[0],
            flush_interval=3600,
            **options,
        )

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.sends.append(type(send).__name__)
        self.consents.append(frozenset(scope["state"]["consent"].categories))
        if self.inner is not None:
            await self.inner(scope, receive, send)
            return
        start = {"type": "http.response.start", **self.response}
        await send(start)
        await send({"type": "http.response.body", "body": b"hello"})

    async def record(self, message: dict[str, Any]) -> None:
        self.sent.append({k: (list(v) if k == "headers" else v) for k, v in message.items()})


def request(
    cookie: bytes, *, path: str = "/", query: bytes = b"", method: str = "GET",
    extra: tuple[tuple[bytes, bytes], ...] = (), agent: bytes = CHROME,
) -> dict[str, Any]:  # fmt: skip
    headers = [(b"host", b"example.org"), (b"user-agent", agent), (b"accept", b"text/html"),
               (b"cookie", cookie), *extra]  # fmt: skip
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "https", "path": path, "raw_path": path.encode(), "query_string": query,
        "root_path": "", "headers": headers, "client": ("203.0.113.9", 4000),
        "server": ("example.org", 443), "state": {},
    }  # fmt: skip


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


def returning_cookie(site: Site, visitor: str = "B" * 22, decision_id: str = "A" * 22) -> bytes:
    """The Cookie header of a returning visitor who granted analytics, for ``site``."""
    decision = site.middleware.codec.encode(frozenset({"analytics"}), decision_id=decision_id)
    return f"consentkit={decision}; consentkit_id={visitor}".encode()


@asynccontextmanager
async def started(*sites: Site) -> AsyncIterator[None]:
    """The sites' middlewares started (their lifespans), and shut down after."""
    for site in sites:
        site.middleware.startup()
    try:
        yield
    finally:
        for site in sites:
            await site.middleware.shutdown()


def counted(site: Site) -> tuple[Any, ...]:
    batch = site.middleware.counter.tally.take()
    return (batch.segments, batch.pages, list(batch.cells), list(batch.visitors),
            list(batch.anonymous), dict(batch.bots))  # fmt: skip


# (a name, the requests after the two that make the visitor's plan and counted cell, and
# the response the app gives them); each request is served twice: the lane's count of a
# page view in the cell of the one before is the common case
VARIATIONS: list[tuple[str, list[dict[str, Any]], dict[str, Any] | None]] = [
    ("planned", [{}], None),
    (
        "Content-Type spelled as Django does",
        [{}],
        {"headers": [(b"Content-Type", b"text/html"), (b"Content-Length", b"5")]},
    ),
    ("CONTENT-TYPE", [{}], {"headers": [(b"CONTENT-TYPE", b"TEXT/HTML")]}),
    ("not HTML", [{}], {"headers": [(b"content-type", b"text/plain")]}),
    ("a short content type", [{}], {"headers": [(b"content-type", b"text")]}),
    ("no headers", [{}], {"headers": []}),
    ("headers as a tuple", [{}], {"headers": tuple(HTML)}),
    ("the app's own Vary", [{}], {"headers": [*HTML, (b"Vary", b"Accept")]}),
    ("VARY", [{}], {"headers": [*HTML, (b"VARY", b"Accept-Language")]}),
    ("a cookie set by the app", [{}], {"headers": [*HTML, (b"set-cookie", b"_ga=GA1; Path=/")]}),
    ("not found", [{}], {"status": 404}),
    ("a redirect", [{}], {"status": 302}),
    ("a HEAD", [{"method": "HEAD"}], None),
    ("another page", [{"path": "/pricing"}, {"path": "/orders/12345"}], None),
    ("a click within the site", [{"extra": ((b"referer", b"https://example.org/a"),)}], None),
    ("from a search engine", [{"extra": ((b"referer", b"https://www.google.com/"),)}], None),
    ("a campaign", [{"query": b"utm_source=news&utm_medium=email"}], None),
    ("another browser", [{"agent": b"curl/8.0"}], None),
    ("through a proxy", [{"extra": ((b"x-forwarded-for", b"198.51.100.7"),)}], None),
    ("Global Privacy Control", [{"extra": ((b"sec-gpc", b"1"),)}], None),
    ("the cookie sent twice", [{"extra": ((b"cookie", b"theme=dark"),)}], None),
    ("the middleware's own path", [{"path": "/consentkit/banner.js"}], None),
]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("name", "requests", "response"), VARIATIONS, ids=[v[0] for v in VARIATIONS]
)
async def test_the_lane_does_what_the_general_way_does(tmp_path, name, requests, response):
    clock = [1_800_000_000.0]
    lane, general = Site(tmp_path, "lane", clock), Site(tmp_path, "general", clock)
    cookie = returning_cookie(lane)
    async with started(lane, general):
        for number, options in enumerate([{}, {}, *requests, *requests]):
            if number == 2 and response is not None:
                lane.response.update(response)
                general.response.update(response)
            scope = request(cookie, **options)
            await lane.middleware(scope, receive, lane.record)
            scope = request(cookie, **options)
            await general.middleware.returning.page(scope, receive, general.record)
        assert lane.sent == general.sent
        assert lane.consents == general.consents
        assert counted(lane) == counted(general)
    if name == "planned":  # the lane took the planned requests; the general way, the rest
        assert lane.sends == ["HookedSend", "LaneSend", "LaneSend", "LaneSend"]
        assert general.sends == ["HookedSend", "PlannedSend", "PlannedSend", "PlannedSend"]
        assert any((b"vary", b"Cookie") in m.get("headers", []) for m in lane.sent)


@pytest.mark.anyio
async def test_a_decision_that_lapses_is_read_anew_on_the_lane_as_on_the_general_way(tmp_path):
    clock = [1_800_000_000.0]
    sites = [Site(tmp_path, name, clock, decision_max_age=3600) for name in ("lane", "general")]
    cookie = returning_cookie(sites[0])
    async with started(*sites):
        for step in range(4):
            if step == 3:
                clock[0] += 7200  # the decision has lapsed: no consent, the cookie expired
            await sites[0].middleware(request(cookie), receive, sites[0].record)
            await sites[1].middleware.returning.page(request(cookie), receive, sites[1].record)
    assert sites[0].sent == sites[1].sent
    assert sites[0].consents == sites[1].consents
    assert "analytics" not in sites[0].consents[-1] and "analytics" in sites[0].consents[-2]
    assert sites[0].sends[-2:] == ["LaneSend", "HookedSend"]


@pytest.mark.anyio
async def test_a_visitor_replaced_or_forgotten_is_found_anew_not_in_the_lanes_slot(tmp_path):
    """The lane finds a visitor by a table of its own in front of the reader's entries: an
    entry the reader has replaced (the same cookies from another browser) or forgotten
    (the oldest, when full) is not used again."""
    clock = [1_800_000_000.0]
    site = Site(tmp_path, "lane", clock)

    def cookie_of(n: int) -> bytes:
        return returning_cookie(site, f"{n:022d}", decision_id=f"{n:022d}")

    async with started(site):
        reader = site.middleware.returning.reader
        first = cookie_of(0)
        for agent in (CHROME, CHROME, CHROME, b"curl/8.0", CHROME):
            await site.middleware(request(first, agent=agent), receive, site.record)
            assert reader._known[first].agent == agent
        assert site.sends == ["HookedSend", "LaneSend", "LaneSend", "HookedSend", "HookedSend"]
        await site.middleware(request(first), receive, site.record)
        assert site.sends[-1] == "LaneSend"
        reader.remembered = 16
        for n in range(1, 17):  # the first visitor, the oldest, forgotten
            await site.middleware(request(cookie_of(n)), receive, site.record)
        assert first not in reader._known
        await site.middleware(request(first), receive, site.record)
        assert first in reader._known
        assert site.sends[-1] == "HookedSend"


@pytest.mark.anyio
async def test_the_pages_of_routes_and_mounts_on_the_lane_as_on_the_general_way(tmp_path):
    """Starlette's routes, the same ones under two mounts, and routes that share a place in
    the lane's memo of pages by route (``fastlane.lane_page``, by the route's address):
    whatever the order, the pages counted are those of the general way."""
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Mount, Route

    async def page(request: Any) -> HTMLResponse:
        return HTMLResponse("hello")

    shared = [Route("/", page), Route("/{slug}", page)]  # under both mounts
    many = [Route(f"/r{n}", page) for n in range(200)]
    routes = [
        Route("/", page),
        Route("/items/{item_id:int}", page),
        Mount("/shop", routes=shared),
        Mount("/help", routes=shared),
        *many,
    ]
    # each route twice in a row (the second counted by the lane, in the cell of the first),
    # routes in the same place of the memo one after the other
    in_memo = sorted(many, key=lambda route: (id(route) >> 4) % 64)
    paths = ["/", "/", "/items/1", "/items/2", "/shop/", "/shop/socks", "/shop/socks",
             "/help/socks", "/help/socks", "/shop/hats", "/items/3", "/help/", "/",
             *(route.path for route in in_memo for _ in (1, 2))]  # fmt: skip
    clock = [1_800_000_000.0]
    sites = [Site(tmp_path, name, clock, Starlette(routes=routes)) for name in ("lane", "general")]
    cookie = returning_cookie(sites[0])
    async with started(*sites):
        for path in paths:
            await sites[0].middleware(request(cookie, path=path), receive, sites[0].record)
            await sites[1].middleware.returning.page(
                request(cookie, path=path), receive, sites[1].record
            )
        assert sites[0].sent == sites[1].sent
        lane, general = counted(sites[0]), counted(sites[1])
    assert lane == general
    assert {"/", "/items/{item_id}", "/shop/{slug}", "/help/{slug}", "/r0"} <= set(general[1])
    assert sites[0].sends.count("LaneSend") > len(paths) // 3


@pytest.mark.anyio
async def test_a_page_view_the_lane_cannot_count_is_logged_and_the_page_served(tmp_path, caplog):
    clock = [1_800_000_000.0]
    broken = [False]

    def page(scope: dict[str, Any]) -> str:
        if broken[0]:
            raise RuntimeError("no page today")
        return "/home"

    site = Site(tmp_path, "lane", clock, page=page)
    cookie = returning_cookie(site)
    async with started(site):
        for _ in range(2):
            await site.middleware(request(cookie), receive, site.record)
        broken[0] = True
        with caplog.at_level("ERROR", logger="consentkit"):
            await site.middleware(request(cookie), receive, site.record)
        broken[0] = False
        await site.middleware(request(cookie), receive, site.record)
        pages = counted(site)[1]
    assert site.sends[-2:] == ["LaneSend", "LaneSend"]
    assert [m["type"] for m in site.sent[-4:]] == ["http.response.start", "http.response.body"] * 2
    assert "a page view could not be counted" in caplog.text
    assert "no page today" in caplog.text
    assert list(pages) == ["/home"]


class RecordingTally(Tally):
    """A tally that notes the page views counted again in a cell by ``count_cell`` (the
    general way's; the lane writes the cell and the visitor to the columns itself)."""

    def __init__(self, max_pending: int) -> None:
        super().__init__(max_pending)
        self.by_count_cell = 0

    def count_cell(self, cell: int, visitor: int | None) -> None:
        self.by_count_cell += 1
        super().count_cell(cell, visitor)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("at", "large_id"),
    [(1_800_000_000.0, True), (1_800_000_000.0, False), (900_000_000.0, True)],
    ids=["a cell and an ID of three digits", "an ID of two", "a cell of two"],
)
async def test_the_lane_counts_a_page_view_in_its_cell_itself(tmp_path, at, large_id):
    """A returning visitor's page view in the cell of the one before is written to the
    tally by the lane (``fastlane.count_cell``), not handed to ``Tally.count_cell``, for a
    cell and a visitor's number of either size (CPython's ints of two or three 30-bit
    digits: an hour after 1999 makes a cell of three); what is counted is the general way's."""
    clock = [at]
    sites = [Site(tmp_path, name, clock) for name in ("lane", "general")]
    tallies = []
    for site in sites:  # (before the first request: both hold the same tally)
        tallies.append(RecordingTally(site.middleware.counter.max_pending))
        site.middleware.counter.tally = site.middleware.returning.tally = tallies[-1]
    number = sites[0].middleware.visitor_key
    visitor = next(f"{n:022d}" for n in range(1000) if (number(f"{n:022d}") >= 1 << 60) == large_id)
    cookie = returning_cookie(sites[0], visitor)
    async with started(*sites):
        for _ in range(4):
            await sites[0].middleware(request(cookie), receive, sites[0].record)
            await sites[1].middleware.returning.page(request(cookie), receive, sites[1].record)
        lane, general = counted(sites[0]), counted(sites[1])
    assert sites[0].sends == ["HookedSend", "LaneSend", "LaneSend", "LaneSend"]
    assert (tallies[0].by_count_cell, tallies[1].by_count_cell) == (0, 2)
    assert lane == general
    assert list(lane[3]).count(number(visitor)) == 3
