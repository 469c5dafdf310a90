"""store.query: the analytics query over the cube, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from support import Clock, write_views

from consentkit import QueryError, open_store

pytestmark = pytest.mark.every_store

NOW = datetime(2026, 11, 24, 15, 30, tzinfo=UTC).timestamp()


def hour_of(text: str) -> int:
    return int(datetime.fromisoformat(text + "+00:00").timestamp() // 3600)


def cell(when, country, device, page, visitors, views=None, browser="Chrome", os="Windows"):
    place = (country, device, browser, os, page)
    return hour_of(when), place, visitors, views if views is not None else len(visitors)


@pytest.fixture
def store(store_url):
    store = open_store(store_url, clock=Clock(NOW))
    write_views(
        store,
        "default",
        [
            cell("2026-11-24 10:00", "DE", "desktop", "/", ["a", "b"], views=5),
            cell(
                "2026-11-24 11:00",
                "DE",
                "mobile",
                "/blog/{slug}",
                ["a", "c"],
                views=2,
                browser="Mobile Safari",
                os="iOS",
            ),
            cell("2026-11-23 09:00", "FR", "desktop", "/", ["d"], views=1),
            cell("2026-11-20 09:00", "US", "tablet", "/pricing", ["a", "e", "f"], views=3),
            cell("2026-10-02 12:00", "DE", "desktop", "/", ["g"], views=4),
        ],
        [(hour_of("2026-11-24 10:00"), 7)],
    )
    write_views(
        store, "other-site", [cell("2026-11-24 10:00", "DE", "desktop", "/", ["z"], views=100)]
    )
    yield store
    store.close()


def rows(answer):
    return [(r["dimensions"], r["metrics"]) for r in answer["results"]]


def test_totals_are_unions_not_sums(store):
    answer = store.query({"metrics": ["visitors", "pageviews"], "date_range": "7d"})
    assert rows(answer) == [([], [6, 11])]  # a b c d e f; "a" came three times
    assert answer["meta"]["bots_filtered"] == 7
    assert answer["meta"]["time_zone"] == "UTC"


@pytest.mark.parametrize(
    ("date_range", "pageviews"),
    [
        ("day", 7),
        ("7d", 11),
        ("30d", 11),
        ("month", 11),
        ("12mo", 15),
        ("all", 15),
        (["2026-11-23", "2026-11-23"], 1),
        (["2026-10-01", "2026-11-20"], 7),
    ],
)
def test_date_ranges(store, date_range, pageviews):
    answer = store.query({"metrics": ["pageviews"], "date_range": date_range})
    assert rows(answer) == [([], [pageviews])]


def test_breakdowns_order_and_percentage(store):
    answer = store.query(
        {
            "metrics": ["visitors", "pageviews", "percentage"],
            "dimensions": ["visit:country"],
            "date_range": "all",
        }
    )
    assert rows(answer) == [(["DE"], [4, 11, 57.1]), (["US"], [3, 3, 42.9]), (["FR"], [1, 1, 14.3])]


def test_time_buckets(store):
    by = {}
    for dimension in ("time:hour", "time:day", "time:week", "time:month"):
        answer = store.query(
            {"metrics": ["visitors", "pageviews"], "dimensions": [dimension], "date_range": "all"}
        )
        by[dimension] = rows(answer)
    assert by["time:day"] == [
        (["2026-10-02"], [1, 4]),
        (["2026-11-20"], [3, 3]),
        (["2026-11-23"], [1, 1]),
        (["2026-11-24"], [3, 7]),
    ]
    assert by["time:hour"][-2:] == [
        (["2026-11-24 10:00:00"], [2, 5]),
        (["2026-11-24 11:00:00"], [2, 2]),
    ]
    assert by["time:week"] == [
        (["2026-09-28"], [1, 4]),
        (["2026-11-16"], [3, 3]),
        (["2026-11-23"], [4, 8]),
    ]
    assert by["time:month"] == [(["2026-10-01"], [1, 4]), (["2026-11-01"], [6, 11])]


def test_filters(store):
    def views(filters):
        return rows(
            store.query({"metrics": ["pageviews"], "date_range": "all", "filters": filters})
        )[0][1][0]

    assert views([["is", "visit:country", ["DE"]]]) == 11
    assert views([["is_not", "visit:country", ["DE"]]]) == 4
    assert views([["contains", "event:page", ["blog"]]]) == 2
    assert views([["is", "visit:country", ["DE"]], ["is", "visit:device", ["desktop"]]]) == 9
    assert (
        views([["or", [["is", "visit:country", ["FR"]], ["is", "visit:device", ["tablet"]]]]]) == 4
    )
    assert views([["not", ["is", "visit:country", ["DE", "FR"]]]]) == 3
    assert (
        views([["and", [["is", "visit:os", ["iOS"]], ["is", "visit:browser", ["Mobile Safari"]]]]])
        == 2
    )
    assert views([["is", "visit:browser", ["'; DROP TABLE ck_pageviews; --"]]]) == 0
    assert views([["contains", "event:page", ["%"]]]) == 0  # no LIKE wildcards


def test_pagination_and_order_by(store):
    query = {
        "metrics": ["pageviews"],
        "dimensions": ["event:page"],
        "date_range": "all",
        "order_by": [["event:page", "asc"]],
        "pagination": {"limit": 2, "offset": 1},
    }
    answer = store.query(query)
    assert rows(answer) == [(["/blog/{slug}"], [2]), (["/pricing"], [3])]
    assert answer["meta"]["total_rows"] == 3


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"metrics": []}, "metrics"),
        ({"metrics": ["bounce_rate"]}, "metrics[0]"),
        ({"metrics": ["visitors"], "date_range": "fortnight"}, "date_range"),
        ({"metrics": ["visitors"], "date_range": ["2026-11-30", "2026-11-01"]}, "date_range"),
        (
            {"metrics": ["visitors"], "date_range": "7d", "dimensions": ["visit:ip"]},
            "dimensions[0]",
        ),
        (
            {"metrics": ["visitors"], "date_range": "7d", "filters": [["like", "visit:os", ["x"]]]},
            "filters[0][0]",
        ),
        (
            {"metrics": ["visitors"], "date_range": "7d", "filters": [["is", "time:day", ["x"]]]},
            "filters[0][1]",
        ),
        (
            {"metrics": ["visitors"], "date_range": "7d", "filters": [["is", "visit:os", "x"]]},
            "filters[0][2]",
        ),
        (
            {"metrics": ["visitors"], "date_range": "7d", "order_by": [["pageviews", "desc"]]},
            "order_by[0]",
        ),
        (
            {"metrics": ["visitors"], "date_range": "7d", "pagination": {"limit": 0}},
            "pagination.limit",
        ),
        ({"metrics": ["visitors"], "date_range": "7d", "sql": "SELECT 1"}, "sql"),
        (["visitors"], "query"),
    ],
)
def test_bad_queries_name_the_wrong_field(store, query, field):
    with pytest.raises(QueryError) as caught:
        store.query(query)
    assert caught.value.field == field


def test_sites_are_kept_apart(store):
    answer = store.query({"site_id": "other-site", "metrics": ["pageviews"], "date_range": "day"})
    assert rows(answer) == [([], [100])]


def test_unique_visitors_of_a_large_site_are_unions_within_two_percent(store_url):
    import random

    rng = random.Random(2026)
    countries = ["DE", "FR", "US"]
    visitors = {v: countries[v % 3] for v in range(150_000)}
    days: dict[tuple[int, str], set[int]] = {}
    seen_by_country: dict[str, set[int]] = {c: set() for c in countries}
    for visitor, country in visitors.items():
        for day in rng.sample(range(30), k=rng.choice((1, 1, 2, 5))):  # returning visitors
            days.setdefault((day, country), set()).add(visitor)
            seen_by_country[country].add(visitor)
    store = open_store(store_url, clock=Clock(NOW))
    first = hour_of("2026-10-26 12:00")
    write_views(
        store,
        "default",
        [
            (
                first + day * 24,
                (country, "desktop", "Chrome", "Windows", "/"),
                sorted(ids),
                len(ids),
            )
            for (day, country), ids in days.items()
        ],
    )
    total = store.query({"metrics": ["visitors", "pageviews"], "date_range": "30d"})
    estimate, views = total["results"][0]["metrics"]
    assert views == sum(len(ids) for ids in days.values())  # a sum of visits is far larger
    assert abs(estimate - 150_000) / 150_000 < 0.02
    by_country = store.query(
        {
            "metrics": ["visitors"],
            "dimensions": ["visit:country"],
            "date_range": "30d",
            "filters": [["is_not", "visit:country", ["US"]]],
        }
    )
    for row in by_country["results"]:
        exact = len(seen_by_country[row["dimensions"][0]])
        assert abs(row["metrics"][0] - exact) / exact < 0.02


def test_a_cell_flushed_many_times_counts_each_visitor_once(store_url):
    """Conflicting flushes merge in the store: small sketches by appending entries in SQL,
    larger ones in Python, dense ones by registers; every path must give the union."""
    import asyncio
    import random

    from consentkit.analytics.buffer import PageViewBuffer
    from consentkit.analytics.hll import visitor_hash

    rng = random.Random(7)
    store = open_store(store_url, clock=Clock(NOW))
    buffer = PageViewBuffer(store, site="default")
    hour = hour_of("2026-11-24 10:00")
    small, large = set(), set()
    views = 0
    for _ in range(40):  # a few visitors per flush, many repeats: the append path, then past it
        for visitor in rng.sample(range(300), 6):
            small.add(visitor)
            buffer.count(
                hour,
                ("DE", "desktop", "Chrome", "Windows"),
                "/",
                visitor_hash(b"k" * 32, str(visitor)),
            )
            views += 1
        for visitor in rng.sample(range(20_000), 400):  # grows past 4096 entries: dense
            large.add(visitor)
            buffer.count(
                hour,
                ("FR", "mobile", "Firefox", "Android"),
                "/",
                visitor_hash(b"k" * 32, str(visitor)),
            )
        asyncio.run(buffer.flush())
    answer = store.query(
        {"metrics": ["visitors", "pageviews"], "dimensions": ["visit:country"], "date_range": "day"}
    )
    got = {r["dimensions"][0]: r["metrics"] for r in answer["results"]}
    assert got["DE"] == [len(small), views]
    assert got["FR"][1] == 40 * 400 and abs(got["FR"][0] - len(large)) / len(large) < 0.02
    exported = {r["country"]: r["visitors"] for r in store.export("pageviews")}
    assert exported == {"DE": len(small), "FR": got["FR"][0]}
    store.close()
