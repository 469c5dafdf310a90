"""Page views counted in memory, flushed to the store (SQLite and PostgreSQL), read back
through store.query."""

from __future__ import annotations

import time

import pytest
from support import UA, Clock, eventually, raw_database, visit

from consentkit import open_store
from consentkit.errors import StoreError

pytestmark = [pytest.mark.anyio, pytest.mark.every_store]

TOTALS = {"metrics": ["visitors", "pageviews"], "date_range": "all"}


async def consented(app, user_agent=UA["windows_chrome"], categories=None):
    """A browser-like client that has granted analytics (or ``categories``)."""
    manager = visit(app)
    browser = await manager.__aenter__()
    browser.headers["user-agent"] = user_agent
    body = (
        {"action": "custom", "categories": categories}
        if categories is not None
        else {"action": "accept_all"}
    )
    await browser.post("/consentkit/consent", json=body)
    return manager, browser


async def test_counts_equal_the_consented_html_gets(make_site, store_url):
    app = make_site()
    async with visit(app) as refused, visit(app) as undecided, visit(app) as bot:
        await refused.post("/consentkit/consent", json={"action": "reject_all"})
        visitors = []
        for agent in ("windows_chrome", "iphone", "ipad"):
            manager, browser = await consented(app, UA[agent])
            visitors.append((manager, browser))
        bot.headers["user-agent"] = UA["googlebot"]
        sent = 0
        for _, browser in visitors:
            for path in ("/", "/items/1", "/items/2", "/"):
                assert (await browser.get(path)).status_code == 200
                sent += 1
            # none of these is a page view
            await browser.get("/api/data")
            await browser.get("/missing")
            await browser.get("/text")
            await browser.post("/form")
            await browser.get("/consentkit/state")
        for _ in range(3):
            await refused.get("/")
            await undecided.get("/")
        await bot.get("/")
        await bot.get("/items/9")
        store = open_store(store_url)
        await eventually(
            lambda: (
                store.query(TOTALS)["results"][0]["metrics"][1] >= sent
                and store.query(TOTALS)["meta"]["bots_filtered"] >= 2
            ),
            what="the flush of the page views and the crawler's",
        )
        totals = store.query(TOTALS)
        assert totals["results"] == [{"dimensions": [], "metrics": [3, sent]}]
        assert totals["meta"]["bots_filtered"] == 2  # every crawler, consent or none
        for manager, _ in visitors:
            await manager.__aexit__(None, None, None)


async def test_bots_that_carry_consent_are_counted_apart(make_site, store_url):
    app = make_site()
    manager, bot = await consented(app, UA["googlebot"])
    for _ in range(4):
        await bot.get("/")
    await manager.__aexit__(None, None, None)
    answer = open_store(store_url).query(TOTALS)
    assert answer["results"] == [{"dimensions": [], "metrics": [0, 0]}]
    assert answer["meta"]["bots_filtered"] == 4


async def test_a_new_user_agent_is_classified_at_the_flush_not_on_the_request_path(
    make_site, store_url
):
    """A visitor with an ID gets no cookie whether a crawler or not, so a user agent the
    classifier has not seen is classified by the flush, in the flusher's thread (on the
    request path a new header costs the native engine several times more, its automata
    evicted from the processor's caches by the request's own work). What is stored is
    the traits, a crawler's page views are counted apart."""
    from consentkit import ConsentMiddleware
    from consentkit.cli.app_loading import app_layers

    app = make_site(flush_interval=3600)
    people, person = await consented(app, UA["windows_chrome"])
    crawlers, crawler = await consented(app, UA["windows_chrome"])
    middleware = next(m for m in app_layers(app) if isinstance(m, ConsentMiddleware))
    classifier = middleware.visitor.agent
    person.headers["user-agent"], crawler.headers["user-agent"] = UA["ipad"], UA["googlebot"]
    misses = classifier.cache_info().misses
    for _ in range(3):
        assert (await person.get("/")).status_code == 200
        assert (await crawler.get("/")).status_code == 200
    assert classifier.cache_info().misses == misses  # neither classified yet
    await crawlers.__aexit__(None, None, None)
    await people.__aexit__(None, None, None)  # the shutdown's flush
    assert classifier.cache_info().misses == misses + 2
    answer = open_store(store_url).query(
        {
            "metrics": ["visitors", "pageviews"],
            "dimensions": ["visit:device", "visit:browser", "visit:os"],
            "date_range": "all",
        }
    )
    assert [(r["dimensions"], r["metrics"]) for r in answer["results"]] == [
        (["tablet", "Mobile Safari", "iOS"], [1, 3])
    ]
    assert answer["meta"]["bots_filtered"] == 3


async def test_shutdown_flushes_what_is_buffered(make_site, store_url):
    app = make_site(flush_interval=3600)
    manager, browser = await consented(app)
    for _ in range(5):
        await browser.get("/items/5")
    await manager.__aexit__(None, None, None)  # lifespan shutdown
    answer = open_store(store_url).query(TOTALS)
    assert answer["results"] == [{"dimensions": [], "metrics": [1, 5]}]


async def test_pages_are_route_templates_and_traits_are_derived(make_site, store_url):
    app = make_site(flush_interval=3600)
    manager, phone = await consented(app, UA["iphone"])
    for item in range(1, 4):
        await phone.get(f"/items/{item}?utm_source=x")
    await phone.get("/")
    await manager.__aexit__(None, None, None)
    answer = open_store(store_url).query(
        {
            "metrics": ["pageviews", "visitors"],
            "dimensions": [
                "event:page",
                "visit:device",
                "visit:browser",
                "visit:os",
                "visit:country",
            ],
            "date_range": "day",
        }
    )
    assert answer["results"] == [
        {
            "dimensions": ["/items/{item_id}", "mobile", "Mobile Safari", "iOS", "ZZ"],
            "metrics": [3, 1],
        },
        {"dimensions": ["/", "mobile", "Mobile Safari", "iOS", "ZZ"], "metrics": [1, 1]},
    ]


async def test_a_returning_visitor_is_one_visitor_across_hours(make_site, store_url):
    clock = Clock()
    app = make_site(clock=clock, flush_interval=3600)
    manager, browser = await consented(app)
    for _ in range(3):
        await browser.get("/")
        clock.advance(3600)
    await manager.__aexit__(None, None, None)
    store = open_store(store_url, clock=clock)
    hourly = store.query(
        {"metrics": ["visitors", "pageviews"], "dimensions": ["time:hour"], "date_range": "all"}
    )
    assert [r["metrics"] for r in hourly["results"]] == [[1, 1], [1, 1], [1, 1]]
    assert store.query(TOTALS)["results"][0]["metrics"] == [1, 3]


async def test_refused_visitors_are_anonymous_page_views_only_when_enabled(make_site, store_url):
    app = make_site(count_refused=True, flush_interval=3600)
    async with visit(app) as browser:
        await browser.post("/consentkit/consent", json={"action": "reject_all"})
        await browser.get("/")
        await browser.get("/")
        assert "consentkit_id" not in browser.cookies
    answer = open_store(store_url).query(TOTALS)  # page views, never visitors
    assert answer["results"] == [{"dimensions": [], "metrics": [0, 2]}]


async def test_the_site_keeps_serving_when_the_database_goes_away(make_site, store_url, caplog):
    app = make_site(flush_interval=0.02)
    manager, browser = await consented(app)
    with raw_database(store_url) as sql:
        sql("ALTER TABLE ck_blocks RENAME TO ck_blocks_away")
    for _ in range(3):
        assert (await browser.get("/")).status_code == 200
    # Flushes fail meanwhile; the counts are kept for the next try.
    await eventually(lambda: "flushing page views failed" in caplog.text, what="a failed flush")
    with raw_database(store_url) as sql:
        sql("ALTER TABLE ck_blocks_away RENAME TO ck_blocks")
    await manager.__aexit__(None, None, None)
    assert open_store(store_url).query(TOTALS)["results"][0]["metrics"] == [1, 3]


async def test_page_views_past_the_buffer_bound_are_counted_and_reported(store_url, caplog):
    import logging

    from consentkit.analytics.buffer import PageViewBuffer

    store = open_store(store_url)
    buffer = PageViewBuffer(store, site="default", max_pending=3)
    for page in range(5):
        buffer.count(490_000, ("DE", "desktop", "Chrome", "Windows"), f"/{page}", 7)
    assert buffer.dropped == 2
    with caplog.at_level(logging.WARNING, logger="consentkit"):
        await buffer.flush()
    assert "2 page views dropped" in caplog.text
    answer = open_store(store_url).query({"metrics": ["pageviews"], "date_range": "all"})
    assert answer["results"][0]["metrics"] == [3]
    assert answer["meta"]["dropped_pageviews"] == 2  # reported to whoever reads the numbers


async def test_flushes_falling_behind_merge_in_memory_and_report_what_they_drop(store_url, caplog):
    """The store is away for several flushes: what waits is one merged batch, bounded by
    max_pending; what is past the bound is dropped, counted in the log and, once the store
    is back, in every query's meta. Nothing is counted twice."""
    import logging

    from consentkit.analytics.buffer import PageViewBuffer

    store = open_store(store_url, clock=Clock(490_000 * 3600 + 60))
    buffer = PageViewBuffer(store, site="default", max_pending=50)
    with raw_database(store_url) as sql:
        sql("ALTER TABLE ck_blocks RENAME TO ck_blocks_away")
    caplog.set_level(logging.WARNING, logger="consentkit")
    for _ in range(4):  # 4 flushes fail, 20 page views counted before each
        for n in range(20):  # 20 visitors, their hashes spread as keyed hashes are
            visitor = (n + 1) * 0x9E3779B97F4A7C15 % 2**64
            buffer.count(490_000, ("DE", "desktop", "Chrome", "Windows"), f"/{n % 7}", visitor)
        with pytest.raises(StoreError):
            await buffer.flush()
    assert buffer.pending == 50  # one merged batch, as many as the bound allows
    assert buffer.dropped == 30
    with raw_database(store_url) as sql:
        sql("ALTER TABLE ck_blocks_away RENAME TO ck_blocks")
    await buffer.flush()
    # each flush reports the drops since the one before (the 3rd: 10, the 4th: 20)
    assert "10 page views dropped since the last report" in caplog.text
    assert "20 page views dropped since the last report" in caplog.text
    assert buffer.pending == 0
    await buffer.flush()  # nothing left: neither the batch nor the drops again
    answer = store.query({"metrics": ["pageviews", "visitors"], "date_range": "all"})
    assert answer["results"][0]["metrics"] == [50, 20]
    assert answer["meta"]["dropped_pageviews"] == 30
    day = store.query({"metrics": ["pageviews"], "date_range": ["1925-11-24", "1925-11-24"]})
    assert day["meta"]["dropped_pageviews"] == 0  # only in the range they were dropped in
    store.close()


async def test_a_shutdown_gives_up_on_an_unreachable_store_within_its_patience(store_url, caplog):
    import logging

    from consentkit.analytics.buffer import DRAIN_SECONDS, PageViewBuffer

    assert DRAIN_SECONDS <= 10  # the drain a shutdown allows, before orchestrators kill
    store = open_store(store_url)
    buffer = PageViewBuffer(store, site="default", interval=3600)
    buffer.start()
    for n in range(5):
        buffer.count(490_000, ("DE", "desktop", "Chrome", "Windows"), "/", n)
    with raw_database(store_url) as sql:
        sql("ALTER TABLE ck_blocks RENAME TO ck_blocks_away")
    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="consentkit"):
        await buffer.stop(patience=0.6)
    assert 0.5 < time.monotonic() - started < 3
    assert "final flush failed; 5 page views not stored" in caplog.text
    store.close()


def test_the_log_is_checkpointed_in_the_background_not_in_a_decisions_commit(sqlite_url):
    """A large flush leaves its pages in the write-ahead log (the store's own commits do
    not checkpoint below a large backstop); a background thread copies them into the
    database file soon after, so the next commit (a visitor's decision) does not pay for
    it. Seen from outside, with no other connection: the database file grows by itself."""
    import os

    from support import poll, write_views

    store = open_store(sqlite_url)
    path = sqlite_url.removeprefix("sqlite:///")
    size = os.path.getsize(path)
    write_views(
        store,
        "default",
        [
            (490_000 + h, ("DE", "desktop", "Chrome", "Windows", f"/{p}"), ["a"], 1)
            for h in range(50)
            for p in range(40)
        ],
    )
    poll(lambda: os.path.getsize(path) > size, what="the background checkpoint")
    store.close()


async def test_a_returning_visitors_views_keep_their_page_hour_and_source(make_site, store_url):
    """After its first counted page view, a returning visitor's next ones of the same page,
    way in and hour go to the cell the one before went to, without its numbers looked up
    (returning.py): each view still lands under its own page, hour and source, across a
    flush (which numbers the cells anew) and an hour."""
    from consentkit import ConsentMiddleware
    from consentkit.cli.app_loading import app_layers

    clock = Clock()
    app = make_site(clock=clock, flush_interval=3600)
    manager, browser = await consented(app)
    middleware = next(m for m in app_layers(app) if isinstance(m, ConsentMiddleware))
    browser.headers["referer"] = "http://testserver/"  # from the site itself: no way in
    for path in ("/", "/", "/items/1", "/items/2", "/", "/?utm_source=newsletter", "/"):
        assert (await browser.get(path)).status_code == 200
    await middleware.counter.flush()  # a new batch
    for path in ("/", "/items/1"):
        assert (await browser.get(path)).status_code == 200
    clock.advance(3600)
    for path in ("/items/1", "/items/1"):
        assert (await browser.get(path)).status_code == 200
    await manager.__aexit__(None, None, None)
    store = open_store(store_url, clock=clock)
    answer = store.query(
        {"metrics": ["pageviews"], "dimensions": ["time:hour", "event:page"], "date_range": "all"}
    )
    views = {tuple(r["dimensions"]): r["metrics"][0] for r in answer["results"]}
    first, second = sorted({hour for hour, _ in views})
    item = "/items/{item_id}"
    assert views == {(first, "/"): 6, (first, item): 3, (second, item): 2}
    sources = store.query(
        {"metrics": ["pageviews"], "dimensions": ["visit:source"], "date_range": "all"}
    )
    assert [(r["dimensions"], r["metrics"]) for r in sources["results"]] == [(["Newsletter"], [1])]
