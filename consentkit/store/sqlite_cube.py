"""Writing one flush into the SQLite cube: cell upserts, segment and page ids, roll-ups.

Runs inside the store's write transaction (``SQLiteStore.write_pageviews``), which commits,
or rolls back and calls ``forget``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..analytics.batch import CubeBatch, Rollup
from ..analytics.rollups import add_to_stored

MAX_KNOWN_IDS = 200_000

# Two small sparse sketches are merged by appending one's entries to the other's, in SQL: a
# sparse body is read as a set of entries whatever their order or repeats (``sketch.union``),
# and past _CONCAT_LIMIT bytes ck_merge sorts and deduplicates again. Most conflicts are a cell
# seen by one visitor in one flush and one in the next: this keeps them out of Python.
_CONCAT_LIMIT = 1 + 4 * 64
_CELL_COLUMNS = 6
_CELLS_PER_STATEMENT = 100  # rows per INSERT: a third less time than one row per statement


def _upsert_cells(rows: int) -> str:
    return f"""
INSERT INTO ck_cells (hour, segment_id, page_id, pageviews, anonymous_pageviews, visitors)
VALUES {", ".join(["(?, ?, ?, ?, ?, ?)"] * rows)}
ON CONFLICT (hour, segment_id, page_id) DO UPDATE SET
    pageviews = ck_cells.pageviews + excluded.pageviews,
    anonymous_pageviews = ck_cells.anonymous_pageviews + excluded.anonymous_pageviews,
    visitors = CASE
        WHEN substr(ck_cells.visitors, 1, 1) = x'01' AND substr(excluded.visitors, 1, 1) = x'01'
            AND length(ck_cells.visitors) + length(excluded.visitors) <= {_CONCAT_LIMIT + 1}
        THEN CAST(ck_cells.visitors || substr(excluded.visitors, 2) AS BLOB)
        ELSE ck_merge(ck_cells.visitors, excluded.visitors) END
"""


_UPSERT_CELLS = _upsert_cells(_CELLS_PER_STATEMENT)
_SEGMENT = "site = ? AND country = ? AND device = ? AND browser = ? AND os = ?"
_NUMBERING: dict[str, tuple[str, str]] = {  # table -> (insert, look up when it was there)
    "ck_segments": (
        "INSERT INTO ck_segments (site, country, device, browser, os) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING RETURNING id",
        f"SELECT id FROM ck_segments WHERE {_SEGMENT}",
    ),
    "ck_pages": (
        "INSERT INTO ck_pages (site, page) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING id",
        "SELECT id FROM ck_pages WHERE site = ? AND page = ?",
    ),
}
# Roll-ups are few and their sketches large: they are read, merged in bulk (union_each) and
# written back inside the write transaction, rather than merged one by one by ck_merge.
_READ_DAILY = """
SELECT day, kind, value, pageviews, visitors FROM ck_daily
WHERE site = ? AND day >= ? AND day <= ?
"""
_WRITE_DAILY = """
INSERT INTO ck_daily (site, day, kind, value, pageviews, visitors) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (site, day, kind, value) DO UPDATE SET
    pageviews = excluded.pageviews, visitors = excluded.visitors
"""
_UPSERT_BOTS = """
INSERT INTO ck_bots (site, hour, pageviews) VALUES (?, ?, ?)
ON CONFLICT (site, hour) DO UPDATE SET pageviews = ck_bots.pageviews + excluded.pageviews
"""


class CubeWriter:
    """Writes batches; remembers the ids of segments and pages it has seen (bounded)."""

    def __init__(self) -> None:
        # (table, site) -> segment or page -> id
        self._known: dict[tuple[str, str], dict[Any, int]] = {}

    def forget(self) -> None:
        """Drop every remembered id (after a rollback, some may not exist)."""
        self._known.clear()

    def write(self, db: sqlite3.Connection, site: str, batch: CubeBatch) -> None:
        segments = self._ids(db, "ck_segments", site, batch.segments)
        pages = self._ids(db, "ck_pages", site, batch.pages)
        if len(batch.hours):
            segment, page = segments[batch.segment], pages[batch.page]
            # In key order: the B-tree takes sorted inserts several times faster.
            order = np.lexsort((page, segment, batch.hours))
            values: list[Any] = [None] * (len(order) * _CELL_COLUMNS)
            values[0::_CELL_COLUMNS] = batch.hours[order].tolist()
            values[1::_CELL_COLUMNS] = segment[order].tolist()
            values[2::_CELL_COLUMNS] = page[order].tolist()
            values[3::_CELL_COLUMNS] = batch.pageviews[order].tolist()
            values[4::_CELL_COLUMNS] = batch.anonymous_pageviews[order].tolist()
            values[5::_CELL_COLUMNS] = map(batch.visitors.__getitem__, order.tolist())
            self._upsert_cells(db, values)
        if batch.rollups:
            db.executemany(_WRITE_DAILY, self._merged_rollups(db, site, batch.rollups))
        db.executemany(_UPSERT_BOTS, [(site, hour, n) for hour, n in batch.bots])

    @staticmethod
    def _upsert_cells(db: sqlite3.Connection, values: list[Any]) -> None:
        """Upsert cube cells given as one flat list, many rows per statement."""
        width = _CELLS_PER_STATEMENT * _CELL_COLUMNS
        whole = len(values) - len(values) % width
        db.executemany(_UPSERT_CELLS, (values[i : i + width] for i in range(0, whole, width)))
        if whole < len(values):
            db.execute(_upsert_cells((len(values) - whole) // _CELL_COLUMNS), values[whole:])

    @staticmethod
    def _merged_rollups(
        db: sqlite3.Connection, site: str, rollups: Sequence[Rollup]
    ) -> list[tuple[Any, ...]]:
        """The roll-ups with what is stored for them already, added up and merged."""
        days = [rollup[0] for rollup in rollups]
        stored = {
            (day, kind, value): (views, sketch)
            for day, kind, value, views, sketch in db.execute(
                _READ_DAILY, (site, min(days), max(days))
            )
        }
        try:
            totals, merged = add_to_stored(rollups, stored)
        except ValueError as error:
            raise sqlite3.DatabaseError(f"a stored roll-up sketch is corrupt: {error}") from None
        return [
            (site, day, kind, value, total, sketch)
            for (day, kind, value, _, _), total, sketch in zip(rollups, totals, merged, strict=True)
        ]

    def _ids(
        self, db: sqlite3.Connection, table: str, site: str, names: Sequence[Any]
    ) -> NDArray[np.int64]:
        """The id of each segment or page (in the order given), adding the new ones."""
        known = self._known.setdefault((table, site), {})
        if len(known) + len(names) > MAX_KNOWN_IDS:
            known.clear()  # bounded memory; a miss costs one lookup
        insert, look_up = _NUMBERING[table]
        ids = np.empty(len(names), dtype=np.int64)
        for n, name in enumerate(names):
            id_ = known.get(name)
            if id_ is None:
                key = (site, *name) if isinstance(name, tuple) else (site, name)
                row = db.execute(insert, key).fetchone() or db.execute(look_up, key).fetchone()
                id_ = known[name] = row[0]
            ids[n] = id_
        return ids
