"""One flush into the analytics cube on PostgreSQL, merged with what is stored.

Many processes flush into one database. Page views add up on the server, but visitor
sketches can only be merged in Python, so a flush runs under a transaction-level advisory
lock on its site (taken by the store): it reads the stored sketches of the cells it
touches, merges them with ``union_each``, and writes cells that are new with ``COPY`` and
cells that were there with one ``UPDATE``. Flushes of one site therefore follow each other
across processes (each takes milliseconds and comes about once a second per process);
flushes of different sites never touch the same rows, so they run side by side. Nothing
waits on row locks held by another flush, so there is no deadlock to retry.

Columns go to the server as binary arrays (``postgres_arrays.py``) that ``unnest`` turns
back into rows: one statement per step, whatever the size of the flush.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import psycopg
from numpy.typing import NDArray

from ..analytics.batch import CubeBatch, Rollup
from ..analytics.rollups import add_to_stored
from ..analytics.sketch_arrays import union_each
from ..errors import StoreError
from .postgres_arrays import Blobs

MAX_KNOWN_IDS = 200_000  # segment and page ids remembered per site (a miss costs a query)
_CELLS = "hour, segment_id, page_id, pageviews, anonymous_pageviews, visitors"
_KEYS = "%s::bigint[], %s::bigint[], %s::bigint[]"
# The hour range lets the server read only the recent part of the cube's key (a flush
# touches an hour or two), never the whole table, however large it has grown.
_IN_HOURS = "c.hour BETWEEN %s AND %s"
_READ_CELLS = f"""
SELECT k.n, c.visitors
FROM unnest({_KEYS}) WITH ORDINALITY AS k(hour, segment_id, page_id, n)
JOIN ck_cells c ON c.hour = k.hour AND c.segment_id = k.segment_id AND c.page_id = k.page_id
WHERE {_IN_HOURS}
"""
# Page views are added on the server: correct even without the lock. The sketch is the one
# merged in Python from the stored one, which the lock keeps current.
_UPDATE_CELLS = f"""
UPDATE ck_cells c SET
    pageviews = c.pageviews + u.pageviews,
    anonymous_pageviews = c.anonymous_pageviews + u.anonymous_pageviews,
    visitors = u.visitors
FROM unnest({_KEYS}, %s::bigint[], %s::bigint[], %s::bytea[]) AS u({_CELLS})
WHERE c.hour = u.hour AND c.segment_id = u.segment_id AND c.page_id = u.page_id
    AND {_IN_HOURS}
"""
_COPY_CELLS = f"COPY ck_cells ({_CELLS}) FROM STDIN (FORMAT BINARY)"
_CELL_TYPES = ["int8", "int8", "int8", "int8", "int8", "bytea"]
_READ_DAILY = """
SELECT d.day, d.kind, d.value, d.pageviews, d.visitors
FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS k(day, kind, value)
JOIN ck_daily d ON d.site = %s AND d.day = k.day AND d.kind = k.kind AND d.value = k.value
"""
_WRITE_DAILY = """
INSERT INTO ck_daily (site, day, kind, value, pageviews, visitors)
SELECT %s, * FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::bigint[], %s::bytea[])
ON CONFLICT (site, day, kind, value) DO UPDATE SET
    pageviews = excluded.pageviews, visitors = excluded.visitors
"""
_UPSERT_BOTS = """
INSERT INTO ck_bots (site, hour, pageviews)
SELECT %s, * FROM unnest(%s::bigint[], %s::bigint[])
ON CONFLICT (site, hour) DO UPDATE SET pageviews = ck_bots.pageviews + excluded.pageviews
"""


def _numbering(table: str, columns: tuple[str, ...]) -> tuple[str, str]:
    """Statements that add the names a site has not numbered yet and read every id.

    Race-free across processes without any lock: a name inserted by another transaction
    meanwhile makes ``ON CONFLICT DO NOTHING`` wait for it and skip it, and the read that
    follows (a new statement, a new snapshot) sees it. ``NOT EXISTS`` spares the sequence a
    number for every name already there.
    """
    names = ", ".join(columns)
    arrays = ", ".join(["%s::text[]"] * len(columns))
    same = " AND ".join(f"t.{column} = n.{column}" for column in columns)
    add = (
        f"INSERT INTO {table} (site, {names}) SELECT %s, n.* FROM unnest({arrays}) AS n({names})"
        f" WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE t.site = %s AND {same})"
        " ON CONFLICT DO NOTHING"
    )
    read = (
        f"SELECT t.id, {', '.join(f't.{column}' for column in columns)} FROM {table} t"
        f" JOIN unnest({arrays}) AS n({names}) ON t.site = %s AND {same}"
    )
    return add, read


_NUMBERING = {
    "ck_segments": _numbering("ck_segments", ("country", "device", "browser", "os")),
    "ck_pages": _numbering("ck_pages", ("page",)),
}


Learned = dict[tuple[str, str], dict[Any, int]]  # (table, site) -> segment or page -> id


class CubeWriter:
    """Writes flushes into the cube, remembering the ids of the segments and pages it saw.

    Call ``write`` inside a transaction that holds the site's flush lock, and ``remember``
    what it returns once that transaction has committed: ids handed out by a transaction
    that rolled back are void, and another writer must never see them.
    """

    def __init__(self) -> None:
        self._known: Learned = {}

    def remember(self, learned: Learned) -> None:
        for key, ids in learned.items():
            known = self._known.setdefault(key, {})
            if len(known) + len(ids) > MAX_KNOWN_IDS:
                known.clear()  # bounded memory
            known.update(ids)

    def write(self, db: psycopg.Connection[Any], site: str, batch: CubeBatch) -> Learned:
        """Add one flush to the cube and roll-ups; returns the ids it looked up."""
        learned: Learned = {}
        segments = self._ids(db, "ck_segments", site, batch.segments, learned)
        pages = self._ids(db, "ck_pages", site, batch.pages, learned)
        if len(batch.hours):
            _write_cells(db, batch, segments[batch.segment], pages[batch.page])
        if batch.rollups:
            _write_rollups(db, site, batch.rollups)
        if batch.bots:
            hours, counts = zip(*batch.bots, strict=True)
            db.execute(_UPSERT_BOTS, (site, np.array(hours), np.array(counts)))
        return learned

    def _ids(
        self,
        db: psycopg.Connection[Any],
        table: str,
        site: str,
        names: Sequence[Any],
        learned: Learned,
    ) -> NDArray[np.int64]:
        """The id of each segment or page (in the order given), numbering the new ones."""
        known = self._known.get((table, site), {})
        missing = [name for name in names if name not in known]
        found = learned.setdefault((table, site), {})
        if missing:
            rows = [name if isinstance(name, tuple) else (name,) for name in missing]
            columns = [list(column) for column in zip(*rows, strict=True)]
            add, read = _NUMBERING[table]
            db.execute(add, (site, *columns, site))
            for id_, *name in db.execute(read, (*columns, site)):
                found[tuple(name) if len(name) > 1 else name[0]] = id_
        return np.fromiter(
            (known[name] if name in known else found[name] for name in names),
            dtype=np.int64,
            count=len(names),
        )


def _write_cells(
    db: psycopg.Connection[Any],
    batch: CubeBatch,
    segment: NDArray[np.int64],
    page: NDArray[np.int64],
) -> None:
    # In key order: the B-tree takes sorted inserts faster, and rows are locked in one order.
    order = np.lexsort((page, segment, batch.hours))
    keys = (batch.hours[order], segment[order], page[order])
    counts = (batch.pageviews[order], batch.anonymous_pageviews[order])
    sketches = list(map(batch.visitors.__getitem__, order.tolist()))
    hours = (int(keys[0][0]), int(keys[0][-1]))  # sorted by hour first
    stored = db.execute(_READ_CELLS, (*keys, *hours), binary=True).fetchall()
    there = np.array([n for n, _ in stored], dtype=np.int64) - 1  # ORDINALITY counts from 1
    if len(there):
        try:
            merged = union_each(
                [(old, sketches[row]) for row, (_, old) in zip(there.tolist(), stored, strict=True)]
            )
        except ValueError as error:
            raise StoreError(f"a stored cube sketch is corrupt: {error}") from None
        columns = [column[there] for column in (*keys, *counts)]
        db.execute(_UPDATE_CELLS, (*columns, Blobs(merged), *hours))
    new = np.ones(len(order), dtype=bool)
    new[there] = False
    if new.any():
        columns = [column[new].tolist() for column in (*keys, *counts)]
        blobs = [sketch for sketch, is_new in zip(sketches, new.tolist(), strict=True) if is_new]
        with db.cursor().copy(_COPY_CELLS) as copy:
            copy.set_types(_CELL_TYPES)
            for row in zip(*columns, blobs, strict=True):
                copy.write_row(row)


def _write_rollups(db: psycopg.Connection[Any], site: str, rollups: Sequence[Rollup]) -> None:
    """Add the roll-ups to what is stored for them (read, merged in bulk, written back)."""
    days = np.array([rollup[0] for rollup in rollups], dtype=np.int64)
    kinds = [rollup[1] for rollup in rollups]
    values = [rollup[2] for rollup in rollups]
    stored = {
        (day, kind, value): (views, sketch)
        for day, kind, value, views, sketch in db.execute(
            _READ_DAILY, (days, kinds, values, site), binary=True
        )
    }
    try:
        totals, merged = add_to_stored(rollups, stored)
    except ValueError as error:
        raise StoreError(f"a stored roll-up sketch is corrupt: {error}") from None
    db.execute(_WRITE_DAILY, (site, days, kinds, values, np.array(totals), Blobs(merged)))
