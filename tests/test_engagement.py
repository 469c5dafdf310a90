"""Time visitors spend on a page and how far they read it, through the real ASGI stack and
both stores.

Visitors read pages and leave; the banner script reports each page view's engaged time and
deepest scroll to ``POST /consentkit/event``; the site owner asks which pages hold attention.
Reports add to sums and counts in the page's cube cell: no visitor, no timeline.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from support import (
    CATEGORIES,
    SECRET,
    SKETCH_KEY,
    UA,
    Clock,
    decompressed_cube,
    eventually,
    raw_database,
    visit,
)
from test_sources_and_goals import consenting, rows, site

from consentkit import ConsentMiddleware, open_store
from consentkit.analytics.buffer import PageViewBuffer
from consentkit.analytics.hll import visitor_hash
from consentkit.cli.main import main

pytestmark = [pytest.mark.anyio, pytest.mark.every_store]

BY_PAGE = {
    "metrics": ["pageviews", "time_on_page", "scroll_depth"],
    "date_range": "day",
    "dimensions": ["event:page"],
}
SITE_WIDE = {"metrics": ["visitors", "pageviews", "time_on_page", "scroll_depth"],
             "date_range": "day"}  # fmt: skip


def engagement(page, ms, scroll):
    return {"engagement": {"page": page, "ms": ms, "scroll": scroll}}


async def answered(store_url, query, pageviews):
    """The answer once ``pageviews`` page views have landed. Each test ends its visits with
    a page view counted after the last report, and a flush takes everything counted before
    it: the reports are in by then."""
    store = open_store(store_url)
    try:
        await eventually(
            lambda: store.query(SITE_WIDE)["results"][0]["metrics"][1] >= pageviews,
            what="the flush",
        )
        return rows(store.query(query))
    finally:
        store.close()


async def test_pages_that_hold_attention(store_url):
    app = site(store_url)
    async with visit(app) as reader, visit(app) as skimmer:
        for browser in (reader, skimmer):
            await consenting(browser)
        await reader.get("/")
        await reader.get("/items/7")
        await skimmer.get("/items/8")
        for browser, body in (
            (reader, engagement("/", 40_000, 90)),
            (reader, engagement("/items/7?ref=x#top", 20_000, 50)),
            (skimmer, engagement("/items/8", 4_000, 10)),
        ):
            sent = await browser.post("/consentkit/event", json=body)
            assert sent.status_code == 202
            assert sent.json() == {"counted": True}
        await skimmer.get("/")  # counted after the reports: once it lands, they have too
        by_page = await answered(store_url, BY_PAGE, 4)
        # The reports join their page views' rows (the route template of /items/7 and
        # /items/8): they are no page views themselves.
        assert by_page == [
            (["/"], [2, 40.0, 90.0]),
            (["/items/{item_id}"], [2, 12.0, 30.0]),
        ]
        assert await answered(store_url, SITE_WIDE, 4) == [([], [2, 4, 21.3, 50.0])]


async def test_nothing_is_reported_without_consent_or_by_a_crawler(store_url):
    app = site(store_url, count_refused=True)
    async with visit(app) as refuser, visit(app) as undecided, visit(app) as crawler:
        await consenting(refuser, "reject_all")
        undecided.headers["user-agent"] = UA["windows_chrome"]
        crawler.headers["user-agent"] = "Googlebot/2.1 (+http://www.google.com/bot.html)"
        await consenting(crawler)
        crawler.headers["user-agent"] = "Googlebot/2.1 (+http://www.google.com/bot.html)"
        for browser in (refuser, undecided, crawler):
            sent = await browser.post("/consentkit/event", json=engagement("/", 60_000, 100))
            assert sent.status_code == 202
            assert sent.json() == {"counted": False}
        await refuser.get("/")  # an anonymous page view (count_refused), after the reports
        assert await answered(store_url, SITE_WIDE, 1) == [([], [0, 1, None, None])]


async def test_a_tab_left_open_counts_as_thirty_minutes(store_url):
    app = site(store_url)
    async with visit(app) as browser:
        await consenting(browser)
        await browser.get("/")
        await browser.post("/consentkit/event", json=engagement("/", 10 * 3600 * 1000, 100))
        await browser.get("/")
        assert await answered(store_url, SITE_WIDE, 2) == [([], [1, 2, 1800.0, 100.0])]


async def test_every_page_view_dimension_and_filter(store_url):
    app = site(store_url)
    async with visit(app) as desktop, visit(app) as phone:
        await consenting(desktop)
        await consenting(phone)
        phone.headers["user-agent"] = UA["iphone"]
        await desktop.get("/", headers={"referer": "https://www.google.com/"})
        await phone.get("/")
        await desktop.post("/consentkit/event", json=engagement("/", 30_000, 80))
        await phone.post("/consentkit/event", json=engagement("/", 10_000, 20))
        await desktop.get("/items/1")
        metrics = ["pageviews", "time_on_page", "scroll_depth"]
        by_device = {"metrics": metrics, "date_range": "day", "dimensions": ["visit:device"]}
        assert await answered(store_url, by_device, 3) == [
            (["desktop"], [2, 30.0, 80.0]),
            (["mobile"], [1, 10.0, 20.0]),
        ]
        phones = {"metrics": metrics, "date_range": "7d",
                  "filters": [["is", "visit:device", ["mobile"]]]}  # fmt: skip
        assert await answered(store_url, phones, 1) == [([], [1, 10.0, 20.0])]
        by_day = {"metrics": metrics, "date_range": "7d", "dimensions": ["time:day", "event:page"],
                  "order_by": [["time_on_page", "asc"]]}  # fmt: skip
        answer = await answered(store_url, by_day, 3)
        assert [(labels[1], values) for labels, values in answer] == [
            ("/", [2, 20.0, 50.0]),
            ("/items/{item_id}", [1, None, None]),  # a mean of nothing comes last
        ]
        # A way in is kept on the page view that brought the visitor, never on a report:
        # by source, there is no time to tell.
        by_source = {"metrics": metrics, "date_range": "day", "dimensions": ["visit:source"]}
        assert await answered(store_url, by_source, 1) == [
            (["Direct / None"], [2, None, None]),
            (["Google"], [1, None, None]),
        ]


@pytest.mark.parametrize(
    ("report", "field"),
    [
        ({"page": "https://evil.example/", "ms": 1, "scroll": 1}, "engagement.page"),
        ({"page": "//evil.example/", "ms": 1, "scroll": 1}, "engagement.page"),
        ({"ms": 1, "scroll": 1}, "engagement.page"),
        ({"page": "/", "ms": -1, "scroll": 1}, "engagement.ms"),
        ({"page": "/", "ms": 1.5, "scroll": 1}, "engagement.ms"),
        ({"page": "/", "ms": "1000", "scroll": 1}, "engagement.ms"),
        ({"page": "/", "ms": True, "scroll": 1}, "engagement.ms"),
        ({"page": "/", "ms": 1}, "engagement.scroll"),
        ({"page": "/", "ms": 1, "scroll": 101}, "engagement.scroll"),
        ({"page": "/", "ms": 1, "scroll": -5}, "engagement.scroll"),
        ({"page": "/", "ms": 1, "scroll": 1, "visitor": "me"}, "engagement"),
        ([1, 2, 3], "engagement"),
        ("/", "engagement"),
    ],
)
async def test_hostile_reports_are_refused_with_a_reason(store_url, report, field):
    async with visit(site(store_url)) as browser:
        await consenting(browser)
        sent = await browser.post("/consentkit/event", json={"engagement": report})
        assert sent.status_code == 400
        assert sent.json()["error"]
        assert sent.json()["field"] == field
        also = await browser.post(
            "/consentkit/event", json={**engagement("/", 1, 1), "name": "signup"}
        )
        assert also.status_code == 400


async def test_a_report_sent_as_a_beacon_is_counted(store_url):
    """navigator.sendBeacon sends a string as text/plain."""
    async with visit(site(store_url)) as browser:
        await consenting(browser)
        sent = await browser.post(
            "/consentkit/event",
            content=b'{"engagement": {"page": "/", "ms": 5000, "scroll": 40}}',
            headers={"content-type": "text/plain;charset=UTF-8", "origin": "http://testserver"},
        )
        assert sent.json() == {"counted": True}
        refused = await browser.post(
            "/consentkit/event",
            content=b'{"engagement": {"page": "/", "ms": 5000, "scroll": 40}}',
            headers={"content-type": "text/plain", "origin": "https://evil.example"},
        )
        assert refused.status_code == 403


async def page(request):
    return HTMLResponse("<p>hello</p>")


async def test_a_report_finds_the_route_template_of_its_page(store_url):
    """Starlette's routes, mounted too; a catch-all and an unknown path are scrubbed."""
    app = Starlette(routes=[
        Mount("/shop", routes=[Route("/orders/{order}", page)]),
        Route("/users/{name}", page),
        Route("/app/{rest:path}", page),
    ])  # fmt: skip
    app.add_middleware(ConsentMiddleware, secret_key=SECRET, store=store_url,
                       categories=CATEGORIES, flush_interval=0.05)  # fmt: skip
    async with visit(app) as browser:
        await consenting(browser)
        for path in ("/shop/orders/x1", "/users/alice", "/app/inbox/12345", "/nowhere/42"):
            await browser.post("/consentkit/event", json=engagement(path, 1000, 10))
        await browser.get("/users/bob")
        answer = await answered(store_url, BY_PAGE, 1)
        assert sorted(labels[0] for labels, _ in answer) == [
            "/app/inbox/{id}",
            "/nowhere/{id}",
            "/shop/orders/{order}",
            "/users/{name}",
        ]
        assert ["/users/{name}"] in [labels for labels, values in answer if values[0] == 1]


def test_reports_add_up_in_blocks_and_in_rollups(store_url):
    """Flushed apart from their page views, in the same hour: one cell's sums; the same
    answers from the hourly blocks and, once the hour is over, from the roll-ups."""
    clock = Clock(1_790_000_000.0)
    hour = int(clock() // 3600)
    store = open_store(store_url, clock=clock)
    try:
        place = ("DE", "desktop", "Chrome", "Windows")
        buffer = PageViewBuffer(store, site="s")
        buffer.count(hour, place, "/a", visitor_hash(SKETCH_KEY, "v1"))
        buffer.count(hour, place, "/b", visitor_hash(SKETCH_KEY, "v1"))
        asyncio.run(buffer.flush())
        buffer.engage(hour, place, "/a", 12_000, 75)
        buffer.engage(hour, ("FR", "mobile", "Safari", "iOS"), "/a", 6_000, 25)
        buffer.engage(hour, place, "/b", 3_000, 100)
        asyncio.run(buffer.flush())
        queries = [
            {"metrics": ["visitors", "pageviews", "time_on_page", "scroll_depth"]},
            {"metrics": ["time_on_page", "scroll_depth"], "dimensions": ["event:page"]},
            {"metrics": ["time_on_page"], "dimensions": ["visit:country"]},
            {"metrics": ["scroll_depth"], "filters": [["is", "event:page", ["/a"]]]},
        ]

        def answers():
            return [rows(store.query({"site_id": "s", "date_range": "all", **q}))
                    for q in queries]  # fmt: skip

        expected = [
            [([], [1, 2, 7.0, 66.7])],
            [(["/a"], [9.0, 50.0]), (["/b"], [3.0, 100.0])],
            [(["DE"], [7.5]), (["FR"], [6.0])],
            [([], [50.0])],
        ]
        assert answers() == expected
        clock.advance(3600)
        store.compact("s")  # the hour is over: into the day's roll-ups
        assert answers() == expected
        assert b"v1" not in decompressed_cube(store_url)
    finally:
        store.close()


def test_the_command_line_answers_time_on_page(store_url, capsys):
    store = open_store(store_url)
    try:
        hour = int(time.time() // 3600)
        buffer = PageViewBuffer(store, site="default")
        buffer.count(hour, ("DE", "desktop", "Chrome", "Windows"), "/a", 1)
        buffer.engage(hour, ("DE", "desktop", "Chrome", "Windows"), "/a", 42_000, 64)
        asyncio.run(buffer.flush())
    finally:
        store.close()
    query = {"metrics": ["pageviews", "time_on_page", "scroll_depth"], "date_range": "day",
             "dimensions": ["event:page"]}  # fmt: skip
    assert main(["query", "--store", store_url, "--format", "csv", json.dumps(query)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "event:page,pageviews,time_on_page,scroll_depth",
        "/a,1,42.0,64.0",
    ]


async def test_the_cookie_policy_says_what_is_measured_of_time_spent(store_url):
    async with visit(site(store_url)) as browser:
        policy = (await browser.get("/consentkit/cookies?format=md")).text
        listed = (await browser.get("/consentkit/cookies?format=json")).json()
        page = await browser.get(
            "/consentkit/cookies", headers={"accept": "text/html", "accept-language": "fr"}
        )
    assert "how far you scroll it are added to that page's totals" in policy
    assert "no visit or visit duration is recorded" in str(listed)
    assert "vous la faites défiler" in page.text


async def test_a_report_stores_no_identifier_of_its_page_or_its_visitor(store_url):
    app = site(store_url)
    async with visit(app, client=("81.2.69.142", 5000)) as browser:
        await consenting(browser)
        await browser.get("/")
        secret = "/account/alice@example.com/orders/8f14e45fceea167a9a1b?token=s3cr3tvalue"
        sent = await browser.post("/consentkit/event", json=engagement(secret, 9_000, 30))
        assert sent.json() == {"counted": True}
        await browser.get("/")
        assert await answered(store_url, BY_PAGE, 2) == [
            (["/"], [2, None, None]),
            (["/account/{id}/orders/{id}"], [0, 9.0, 30.0]),
        ]
        visitor_id = browser.cookies["consentkit_id"]
    with raw_database(store_url) as sql:
        values = " ".join(str(row[0]) for row in sql("SELECT value FROM ck_values"))
    stored = values.encode() + decompressed_cube(store_url)
    for needle in ("alice", "8f14e45f", "s3cr3t", "81.2.69.142", "Chrome/119", visitor_id):
        assert needle.encode() not in stored, needle


async def test_reports_wait_out_a_store_outage_and_are_counted_once(store_url):
    """Flushes fail while the store is away: the reports wait, merged with the page views
    counted after them, and are stored once when it is back."""
    from consentkit.errors import StoreError

    store = open_store(store_url)
    hour = int(time.time() // 3600)
    place = ("DE", "desktop", "Chrome", "Windows")
    buffer = PageViewBuffer(store, site="default")
    with raw_database(store_url) as sql:
        sql("ALTER TABLE ck_blocks RENAME TO ck_blocks_away")
    for n in range(3):  # three flushes fail, a page view and a report before each
        buffer.count(hour, place, f"/{n}", visitor_hash(SKETCH_KEY, str(n)))
        buffer.engage(hour, place, "/0", 10_000 * (n + 1), 20 * (n + 1))
        with pytest.raises(StoreError):
            await buffer.flush()
    with raw_database(store_url) as sql:
        sql("ALTER TABLE ck_blocks_away RENAME TO ck_blocks")
    await buffer.flush()
    await buffer.flush()  # nothing left to store twice
    try:
        answer = rows(store.query(BY_PAGE))
        assert answer == [(["/0"], [1, 20.0, 40.0]), (["/1"], [1, None, None]),
                          (["/2"], [1, None, None])]  # fmt: skip
    finally:
        store.close()
