"""Schema migrations: a database written by an older release opens with its data intact,
on SQLite and on PostgreSQL (where every migration runs too, data and all)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from support import Clock, raw_database

from consentkit import open_store
from consentkit.analytics.hll import visitor_hash
from consentkit.store.postgres import SPELLING
from consentkit.store.schema import LATEST, MIGRATIONS

pytestmark = pytest.mark.every_store

NOW = datetime(2026, 11, 24, 15, tzinfo=UTC).timestamp()
HOUR = int(NOW // 3600) - 2
OLD_SPELLING = {
    "sqlite": {"blob": "BLOB", "id": "INTEGER PRIMARY KEY AUTOINCREMENT", "without_rowid": ""},
    "postgresql": SPELLING,
}


def old_sketch(hashes: set[int]) -> bytes:
    """A visitors sketch as versions 1 to 3 wrote it: tag 1, then sorted big-endian entries
    of a 25-bit index and the rank of the 39 bits below it."""
    entries = sorted({(h >> 39) << 6 | (40 - (h & ((1 << 39) - 1)).bit_length()) for h in hashes})
    return b"\x01" + b"".join(entry.to_bytes(4, "big") for entry in entries)


def test_a_version_1_cube_is_moved_into_blocks_and_answers_the_same(store_url):
    spelling = OLD_SPELLING["sqlite" if store_url.startswith("sqlite:") else "postgresql"]
    sketch = old_sketch({visitor_hash(b"k" * 32, v) for v in ("a", "b", "c")})
    with raw_database(store_url) as sql:
        sql("CREATE TABLE ck_schema (version INTEGER NOT NULL)")
        for statement in dict(MIGRATIONS)[1]:
            sql(statement.format(**spelling))
        sql("INSERT INTO ck_schema VALUES (1)")
        for row in [
            ("default", HOUR, "DE", "desktop", "Chrome", "Windows", "/", 5, 1, sketch),
            ("default", HOUR + 1, "DE", "desktop", "Chrome", "Windows", "/", 2, 0, sketch),
            ("default", HOUR, "FR", "mobile", "Safari", "iOS", "/blog", 1, 0, sketch),
            ("other", HOUR, "DE", "desktop", "Chrome", "Windows", "/", 9, 0, sketch),
        ]:
            sql("INSERT INTO ck_pageviews VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
    store = open_store(store_url, clock=Clock(NOW))
    # two dimensions: answered from the cells
    answer = store.query(
        {
            "metrics": ["visitors", "pageviews"],
            "date_range": "day",
            "dimensions": ["visit:country", "event:page"],
        }
    )
    assert {tuple(r["dimensions"]): r["metrics"] for r in answer["results"]} == {
        ("DE", "/"): [3, 8],
        ("FR", "/blog"): [3, 1],
    }
    other = store.query(
        {
            "site_id": "other",
            "metrics": ["pageviews"],
            "date_range": "day",
            "dimensions": ["visit:country", "visit:os"],
        }
    )
    assert other["results"][0]["metrics"] == [9]
    # one dimension: answered from the roll-ups the moved cells waited for
    store.compact("default")
    by_country = store.query(
        {"metrics": ["visitors", "pageviews"], "date_range": "day", "dimensions": ["visit:country"]}
    )
    assert {r["dimensions"][0]: r["metrics"] for r in by_country["results"]} == {
        "DE": [3, 8],
        "FR": [3, 1],
    }
    assert sum(row["pageviews"] for row in store.export("pageviews")) == 18  # 1 anonymous
    store.close()
    with raw_database(store_url) as sql:
        assert sql("SELECT MAX(version) FROM ck_schema") == [(LATEST,)]
        assert sql("SELECT COUNT(*) FROM ck_blocks WHERE site = 'default'") == [(2,)]  # hours
    for table in ("ck_cells", "ck_daily", "ck_segments", "ck_pages"):  # gone
        with raw_database(store_url) as sql, pytest.raises(Exception, match=table):
            sql(f"SELECT COUNT(*) FROM {table}")


def test_opening_a_store_twice_migrates_once(store_url):
    open_store(store_url).close()
    open_store(store_url).close()
    with raw_database(store_url) as sql:
        versions = [v for (v,) in sql("SELECT version FROM ck_schema ORDER BY version")]
    assert versions == [version for version, _ in MIGRATIONS]


def test_many_workers_opening_a_new_store_at_once_migrate_it_once(store_url):
    """Each worker's store has its own connection; they race to migrate at start-up (on
    SQLite also to switch the new file to WAL, which does not wait for a lock by itself)."""
    start = threading.Barrier(8)
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            open_store(store_url).close()
        except BaseException as error:  # reported below, with the test's own assertion
            failures.append(error)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with raw_database(store_url) as sql:
        versions = [v for (v,) in sql("SELECT version FROM ck_schema ORDER BY version")]
        heads = sql("SELECT COUNT(*) FROM ck_ledger_head")
    assert versions == [version for version, _ in MIGRATIONS]
    assert heads == [(1,)]  # migration 3's one row, inserted once
