"""Schema migrations: a database written by an older release opens with its data intact."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from conftest import Clock

from consentkit import open_store
from consentkit.sketch import encode_hashes, visitor_hash
from consentkit.store.schema import LATEST, MIGRATIONS

NOW = datetime(2026, 11, 24, 15, tzinfo=UTC).timestamp()
HOUR = int(NOW // 3600) - 2


def test_a_version_1_cube_is_moved_into_cells_and_answers_the_same(store_url):
    path = store_url.removeprefix("sqlite:///")
    sketch = encode_hashes({visitor_hash(b"k" * 32, v) for v in ("a", "b", "c")})
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE ck_schema (version INTEGER NOT NULL)")
        for statement in dict(MIGRATIONS)[1]:
            db.execute(statement.format(
                blob="BLOB", id="INTEGER PRIMARY KEY AUTOINCREMENT", without_rowid=""))
        db.execute("INSERT INTO ck_schema VALUES (1)")
        db.executemany(
            "INSERT INTO ck_pageviews VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [("default", HOUR, "DE", "desktop", "Chrome", "Windows", "/", 5, 1, sketch),
             ("default", HOUR + 1, "DE", "desktop", "Chrome", "Windows", "/", 2, 0, sketch),
             ("default", HOUR, "FR", "mobile", "Safari", "iOS", "/blog", 1, 0, sketch),
             ("other", HOUR, "DE", "desktop", "Chrome", "Windows", "/", 9, 0, sketch)],
        )
    store = open_store(store_url, clock=Clock(NOW))
    # two dimensions: answered from the cube cells (version 1 wrote its roll-ups too, and
    # those are left as they were)
    answer = store.query({"metrics": ["visitors", "pageviews"], "date_range": "day",
                          "dimensions": ["visit:country", "event:page"]})
    assert {tuple(r["dimensions"]): r["metrics"] for r in answer["results"]} == {
        ("DE", "/"): [3, 8], ("FR", "/blog"): [3, 1]}
    other = store.query({"site_id": "other", "metrics": ["pageviews"], "date_range": "day",
                         "dimensions": ["visit:country", "visit:os"]})
    assert other["results"][0]["metrics"] == [9]
    store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT MAX(version) FROM ck_schema").fetchone()[0] == LATEST
        assert db.execute("SELECT COUNT(*) FROM ck_cells").fetchone()[0] == 4
        assert db.execute("SELECT COUNT(*) FROM ck_segments").fetchone()[0] == 3  # one per site
        # the old table's name still reads the cube, for exports and people
        assert db.execute("SELECT SUM(pageviews) FROM ck_pageviews").fetchone()[0] == 17


def test_opening_a_store_twice_migrates_once(store_url):
    open_store(store_url).close()
    open_store(store_url).close()
    with sqlite3.connect(store_url.removeprefix("sqlite:///")) as db:
        versions = [v for (v,) in db.execute("SELECT version FROM ck_schema ORDER BY version")]
    assert versions == [version for version, _ in MIGRATIONS]
