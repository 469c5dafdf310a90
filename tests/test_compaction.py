"""Compaction of the cube (SQLite and PostgreSQL): flushes append blocks; compaction merges
an hour's blocks at once, and adds the hour to the day's roll-ups only once it is over.
Every query answers the same before and after, whatever was compacted."""

from __future__ import annotations

import pytest
from support import Clock, raw_database, write_views

from consentkit import open_store

pytestmark = pytest.mark.every_store

SITE = "compact.example"
QUERIES = [
    {"metrics": ["visitors", "pageviews"], "date_range": "all"},  # the total roll-up
    {"metrics": ["visitors"], "dimensions": ["visit:country"], "date_range": "all"},
    {"metrics": ["pageviews"], "dimensions": ["time:hour"], "date_range": "day"},  # blocks
    {"metrics": ["visitors"], "dimensions": ["visit:country", "visit:device"],
     "date_range": "all"},
]  # fmt: skip


def answers(store):
    return [store.query({"site_id": SITE, **query})["results"] for query in QUERIES]


def blocks(url):
    """(hour, rolled) of every block, and the ids of the roll-ups (a rewrite changes them)."""
    with raw_database(url) as sql:
        found = sorted((int(h), int(r)) for h, r in sql("SELECT hour, rolled FROM ck_blocks"))
        rollups = sorted(int(row[0]) for row in sql("SELECT id FROM ck_rollups"))
    return found, rollups


def flush(store, hour, country, visitors, views):
    place = (country, "desktop", "Chrome", "Windows", "/")
    write_views(store, SITE, [(hour, place, visitors, views)])


def test_the_hour_under_way_is_merged_but_kept_out_of_the_rollups(store_url):
    clock = Clock(1_790_000_000.0)
    now = int(clock() // 3600)
    store = open_store(store_url, clock=clock)
    try:
        flush(store, now - 1, "DE", ["a", "b"], 3)  # an hour that is over
        flush(store, now, "FR", ["a", "c"], 2)  # the hour under way, in two flushes
        flush(store, now, "DE", ["d"], 1)
        before = answers(store)
        store.compact(SITE)
        found, rollups = blocks(store_url)
        # one block an hour; the hour over is in the roll-ups (1), the one under way not (2)
        assert found == [(now - 1, 1), (now, 2)]
        assert answers(store) == before

        # More of the hour under way: merged into its block, the roll-ups left as they were.
        flush(store, now, "FR", ["e"], 4)
        expected = answers(store)
        store.compact(SITE)
        assert blocks(store_url) == ([(now - 1, 1), (now, 2)], rollups)
        assert answers(store) == expected

        # The hour ends: the next compaction adds it to the day's roll-ups, once.
        clock.advance(3600)
        store.compact(SITE)
        found, after = blocks(store_url)
        assert found == [(now - 1, 1), (now, 1)]
        assert after != rollups
        assert answers(store) == expected
        totals = expected[0][0]["metrics"]
        assert totals == [5, 10]  # a, b, c, d, e; 3 + 2 + 1 + 4 page views
    finally:
        store.close()


def test_late_blocks_of_an_hour_over_join_its_rollups(store_url):
    clock = Clock(1_790_000_000.0)
    now = int(clock() // 3600)
    store = open_store(store_url, clock=clock)
    try:
        flush(store, now, "DE", ["a"], 1)
        store.compact(SITE)
        clock.advance(3600)
        flush(store, now, "NL", ["b"], 2)  # a flush of the hour, after it ended
        expected = answers(store)
        store.compact(SITE)
        found, _ = blocks(store_url)
        assert found == [(now, 1)]
        assert answers(store) == expected
        countries = {row["dimensions"][0]: row["metrics"][0] for row in expected[1]}
        assert countries == {"DE": 1, "NL": 1}
    finally:
        store.close()


def test_days_without_segment_rollups_are_answered_from_their_blocks(store_url):
    """A database whose older days were rolled up before segment roll-ups existed answers
    several-dimension queries from the hourly blocks instead, the same."""
    clock = Clock(1_790_000_000.0)
    now = int(clock() // 3600)
    store = open_store(store_url, clock=clock)
    try:
        flush(store, now - 30, "DE", ["a", "b"], 3)
        flush(store, now - 2, "FR", ["a", "c"], 2)
        store.compact(SITE)
        expected = answers(store)
        with raw_database(store_url) as sql:
            sql("DELETE FROM ck_rollups WHERE kind = 'segment' AND day = ?", ((now - 30) // 24,))
        assert answers(store) == expected
        rows = {tuple(r["dimensions"]): r["metrics"][0] for r in expected[3]}
        assert rows == {("DE", "desktop"): 2, ("FR", "desktop"): 2}
    finally:
        store.close()
