"""Plausible's wider query shape, sources and goals, on SQLite and on PostgreSQL.

What a client ported from Plausible's Stats API v2 sends: named ranges beyond the first
subset, timestamps, ``time``, ``include``, the pattern filters and the case modifier; and
what the cube now keeps: where visitors came in from, and the goals they reached.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
from support import SKETCH_KEY, Clock

from consentkit import QueryError, open_store
from consentkit.analytics.buffer import PageViewBuffer
from consentkit.analytics.hll import visitor_hash
from consentkit.query.matching import matcher
from consentkit.query.model import Condition

pytestmark = pytest.mark.every_store

NOW = datetime(2026, 11, 24, 15, 30, tzinfo=UTC).timestamp()
DESKTOP = ("DE", "desktop", "Chrome", "Windows")
PHONE = ("US", "mobile", "Mobile Safari", "iOS")
NONE = ("", "", "")


def hour_of(text: str) -> int:
    return int(datetime.fromisoformat(text + "+00:00").timestamp() // 3600)


# (when, segment, page, visitor, origin, goal): one page view (goal "") or one goal each
EVENTS = [
    ("2026-11-24 10:00", DESKTOP, "/", "a", ("Google", "", ""), ""),
    ("2026-11-24 10:00", DESKTOP, "/pricing", "a", NONE, ""),
    ("2026-11-24 10:00", DESKTOP, "/pricing", "a", NONE, "signup"),
    ("2026-11-24 11:00", PHONE, "/blog/{slug}", "b", ("Newsletter", "email", "november"), ""),
    ("2026-11-24 11:00", PHONE, "/blog/{slug}", "b", NONE, ""),
    ("2026-11-24 11:00", PHONE, "/pricing", "b", NONE, "signup"),
    ("2026-11-23 09:00", PHONE, "/", "c", ("Direct / None", "", ""), ""),
    ("2026-11-23 09:00", PHONE, "/shop", "c", NONE, "Purchase"),
    ("2026-07-02 12:00", DESKTOP, "/", "d", ("Google", "", ""), ""),
    ("2026-01-05 12:00", DESKTOP, "/", "e", ("Direct / None", "", ""), ""),
    ("2025-12-30 12:00", DESKTOP, "/", "f", ("Direct / None", "", ""), ""),
]


@pytest.fixture
def store(store_url):
    store = open_store(store_url, clock=Clock(NOW))
    buffer = PageViewBuffer(store, site="default")
    for when, segment, page, who, origin, goal in EVENTS:
        visitor = visitor_hash(SKETCH_KEY, who)
        buffer.count(hour_of(when), segment, page, visitor, origin, goal)
    asyncio.run(buffer.flush())
    yield store
    store.close()


def rows(answer):
    return [(r["dimensions"], r["metrics"]) for r in answer["results"]]


def views(store, filters, date_range="7d"):
    answer = store.query({"metrics": ["pageviews"], "date_range": date_range, "filters": filters})
    return answer["results"][0]["metrics"][0]


def refused(store, query):
    with pytest.raises(QueryError) as error:
        store.query(query)
    return error.value.field, str(error.value)


@pytest.mark.parametrize(
    ("date_range", "pageviews"),
    [
        ("6mo", 6),  # from 2026-06-01
        ("year", 7),  # from 2026-01-01
        ("12mo", 8),  # from 2025-12-01: the view of 2025-12-30 too
        (["2026-11-24T10:00:00Z", "2026-11-24T10:59:59Z"], 2),
        (["2026-11-24T10:30:00+00:00", "2026-11-24T11:00:00+00:00"], 4),
        (["2026-11-24T12:00:00+01:00", "2026-11-24T12:59:59+01:00"], 2),  # 11:00 UTC
        (["2026-11-23", "2026-11-24T10:00:00"], 3),
    ],
)
def test_wider_date_ranges(store, date_range, pageviews):
    assert views(store, [], date_range) == pageviews


def test_time_is_the_natural_bucket_and_labels_every_bucket(store):
    answer = store.query(
        {
            "metrics": ["pageviews"],
            "date_range": "7d",
            "dimensions": ["time"],
            "include": {"time_labels": True, "total_rows": True, "imports": True},
            "order_by": [["time", "desc"]],
        }
    )
    assert answer["query"]["dimensions"] == ["time:day"]
    assert rows(answer) == [(["2026-11-24"], [4]), (["2026-11-23"], [1])]
    assert answer["meta"]["time_labels"] == [f"2026-11-{day}" for day in range(18, 25)]
    assert answer["meta"]["total_rows"] == 2
    assert answer["meta"]["imports_included"] is False
    day = store.query({"metrics": ["pageviews"], "date_range": "day", "dimensions": ["time"]})
    assert day["query"]["dimensions"] == ["time:hour"]
    year = store.query({"metrics": ["pageviews"], "date_range": "year", "dimensions": ["time"]})
    assert rows(year) == [(["2026-01-01"], [1]), (["2026-07-01"], [1]), (["2026-11-01"], [5])]


def test_pattern_filters_and_the_case_modifier(store):
    assert views(store, [["contains_not", "event:page", ["blog"]]]) == 3
    assert views(store, [["matches", "event:page", ["^/(pricing|shop)$"]]]) == 1
    assert views(store, [["matches_not", "event:page", ["^/$"]]]) == 3
    assert views(store, [["contains", "event:page", ["BLOG"]]]) == 0
    assert views(store, [["contains", "event:page", ["BLOG"], {"case_sensitive": False}]]) == 2
    assert views(store, [["is", "visit:browser", ["chrome"], {"case_sensitive": False}]]) == 2
    assert views(store, [["matches", "event:page", ["^/BLOG"], {"case_sensitive": False}]]) == 2
    assert views(store, [["is_not", "visit:device", ["Mobile"]]]) == 2  # as Plausible writes it


def test_patterns_cannot_hang_and_bad_ones_are_named(store):
    # (a+)+$ on "aaa...a!" takes a backtracking engine 2**n steps; RE2 one pass.
    holds = matcher(Condition("matches", "event:page", ("(a+)+$",)))
    started = time.perf_counter()
    assert not holds("a" * 50_000 + "!")
    assert time.perf_counter() - started < 1
    assert views(store, [["matches", "event:page", ["^(/|[a-z]+|\\{|\\})+$"]]]) == 5
    field, message = refused(
        store,
        {
            "metrics": ["pageviews"],
            "date_range": "7d",
            "filters": [["matches", "event:page", ["(unclosed"]]],
        },
    )
    assert field == "filters[0][2][0]" and "regular expression" in message
    field, message = refused(
        store,
        {
            "metrics": ["pageviews"],
            "date_range": "7d",
            "filters": [["matches", "event:page", ["a" * 300]]],
        },
    )
    assert field == "filters[0][2][0]" and "256" in message
    field, _ = refused(
        store,
        {
            "metrics": ["pageviews"],
            "date_range": "7d",
            "filters": [["is", "event:page", ["/"], {"case": False}]],
        },
    )
    assert field == "filters[0][3]"


def test_countries_must_be_alpha_2(store):
    field, message = refused(
        store,
        {
            "metrics": ["pageviews"],
            "date_range": "7d",
            "filters": [["is", "visit:country", ["USA"]]],
        },
    )
    assert field == "filters[0][2][0]" and "alpha-2" in message
    assert views(store, [["is", "visit:country", ["us"]]]) == 3


def test_bad_wider_shapes_are_refused_naming_the_field(store):
    cases = [
        ({"date_range": ["2026-11-24T10:00:00Z", "yesterday"]}, "date_range"),
        ({"date_range": ["2026-11-24T10:00:00Z", "2026-11-23T10:00:00Z"]}, "date_range"),
        ({"date_range": "5mo"}, "date_range"),
        ({"include": {"time_labels": True}}, "include.time_labels"),
        ({"include": {"comparisons": True}}, "include.comparisons"),
        ({"include": {"total_rows": "yes"}}, "include.total_rows"),
        ({"include": []}, "include"),
        ({"dimensions": ["visit:referrer"]}, "dimensions[0]"),
    ]
    for extra, field in cases:
        assert (
            refused(store, {"metrics": ["pageviews"], "date_range": "7d", **extra})[0] == field
        ), extra
    consent = {
        "metrics": ["decisions"],
        "date_range": "7d",
        "filters": [["matches", "visit:country", ["D."]]],
    }
    assert refused(store, consent)[0] == "filters"


def test_sources_count_the_visits_they_brought(store):
    answer = store.query(
        {"metrics": ["visitors", "pageviews"], "date_range": "all", "dimensions": ["visit:source"]}
    )
    assert rows(answer) == [
        (["Direct / None"], [3, 3]),
        (["Google"], [2, 2]),
        (["Newsletter"], [1, 1]),
    ]
    medium = store.query(
        {
            "metrics": ["visitors"],
            "date_range": "7d",
            "dimensions": ["visit:utm_medium", "visit:utm_campaign"],
        }
    )
    assert rows(medium) == [(["email", "november"], [1])]
    assert views(store, [["is", "visit:source", ["Google"]]], "all") == 2
    # the roll-ups (one dimension, whole days) and the blocks agree
    by_day = store.query(
        {
            "metrics": ["pageviews"],
            "date_range": "all",
            "dimensions": ["visit:source", "time:day"],
            "filters": [["is", "visit:source", ["Google"]]],
        }
    )
    assert rows(by_day) == [(["Google", "2026-07-02"], [1]), (["Google", "2026-11-24"], [1])]


def test_goals_and_events(store):
    goals = store.query(
        {"metrics": ["visitors", "events"], "date_range": "7d", "dimensions": ["event:goal"]}
    )
    assert rows(goals) == [(["signup"], [2, 2]), (["Purchase"], [1, 1])]
    totals = store.query({"metrics": ["pageviews", "events"], "date_range": "7d"})
    assert rows(totals) == [([], [5, 8])]  # events: page views and goals, as in Plausible
    assert views(store, []) == 5  # goals are no page views
    where = store.query(
        {
            "metrics": ["events"],
            "date_range": "7d",
            "dimensions": ["event:page"],
            "filters": [["is", "event:goal", ["signup"]]],
        }
    )
    assert rows(where) == [(["/pricing"], [2])]


def test_comparison_with_the_previous_period(store):
    answer = store.query(
        {
            "metrics": ["visitors", "pageviews"],
            "date_range": ["2026-11-24", "2026-11-24"],
            "include": {"comparisons": {"mode": "previous_period"}},
        }
    )
    assert answer["meta"]["comparison_date_range"] == ["2026-11-23", "2026-11-23"]
    (row,) = answer["results"]
    assert row["metrics"] == [2, 4]
    assert row["comparison"] == {"dimensions": [], "metrics": [1, 1], "change": [100, 300]}
    series = store.query(
        {
            "metrics": ["pageviews"],
            "date_range": ["2026-11-23", "2026-11-24"],
            "dimensions": ["time:day"],
            "include": {"comparisons": {"mode": "previous_period"}},
        }
    )
    # 2026-11-21 and 22 had nothing; the day before the period maps to its first day
    assert [(r["dimensions"], r["metrics"], r["comparison"]) for r in series["results"]] == [
        (["2026-11-23"], [1], {"dimensions": ["2026-11-21"], "metrics": [0], "change": [100]}),
        (["2026-11-24"], [4], {"dimensions": ["2026-11-22"], "metrics": [0], "change": [100]}),
    ]
    earlier = store.query(
        {
            "metrics": ["pageviews"],
            "date_range": ["2026-11-25", "2026-11-26"],
            "dimensions": ["time:day"],
            "include": {"comparisons": {"mode": "previous_period"}},
        }
    )
    # nothing now, visits before: rows of zeros, so that both series are whole
    assert [
        (r["dimensions"], r["metrics"], r["comparison"]["metrics"]) for r in earlier["results"]
    ] == [
        (["2026-11-25"], [0], [1]),
        (["2026-11-26"], [0], [4]),
    ]
    sources = store.query(
        {
            "metrics": ["visitors"],
            "date_range": ["2026-11-24", "2026-11-24"],
            "dimensions": ["visit:source"],
            "include": {"comparisons": {"mode": "previous_period"}},
        }
    )
    assert [(r["dimensions"], r["comparison"]["metrics"]) for r in sources["results"]] == [
        (["Google"], [0]),
        (["Newsletter"], [0]),
    ]
    field, _ = refused(
        store,
        {"metrics": ["pageviews"], "date_range": "all", "include": {"comparisons": {"mode": "x"}}},
    )
    assert field == "include.comparisons"
    field, _ = refused(
        store,
        {
            "metrics": ["pageviews"],
            "date_range": "all",
            "include": {"comparisons": {"mode": "previous_period"}},
        },
    )
    assert field == "include.comparisons"


def test_time_labels_across_a_change_of_clocks(store):
    answer = store.query(
        {
            "metrics": ["pageviews"],
            "date_range": ["2026-10-24", "2026-10-27"],  # Berlin's clocks go back on the 25th
            "dimensions": ["time:day"],
            "include": {"time_labels": True},
        },
        time_zone="Europe/Berlin",
    )
    assert answer["meta"]["time_labels"] == ["2026-10-24", "2026-10-25", "2026-10-26", "2026-10-27"]
