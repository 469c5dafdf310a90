"""psycopg 3 or asyncpg for the PostgreSQL store, measured on consentkit's own work.

    python tests/benchmarks/bench_pg_drivers.py   # CONSENTKIT_BENCH_STORE=postgresql://...
    pytest tests/benchmarks/bench_pg_drivers.py   # both drivers write the same cube

It works in a schema of its own in the database of CONSENTKIT_BENCH_STORE when that is a
PostgreSQL URL, else in postgresql://postgres@127.0.0.1:5432/test.

One flush of about 75,000 cube cells (80,000 page views of a busy day: the size a flush of a
very busy site reaches), written three ways with each driver:

* the store's way: the stored sketches of the batch's cells are read (keys sent as arrays and
  unnested), merged in Python, and the new cells COPYed, the stored ones UPDATEd;
* multi-row upserts: ``INSERT ... VALUES`` of 100 rows ``... ON CONFLICT DO UPDATE``;
* ``COPY`` into a temporary table, then ``INSERT ... SELECT ... ON CONFLICT DO UPDATE``;

into an empty cube and onto a cube holding every cell already (the last two add the counts
there but cannot merge sketches in SQL, which is why the store reads and merges). Then the
batch's 760 daily roll-ups read back and written merged, and a typical query: top countries
over 30 days of roll-ups, sketches unioned on the client. psycopg runs the store's own code;
asyncpg runs the same statements on its own event loop. Median of 3 runs, each on an emptied
cube.
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import numpy as np
import pytest
from bench_ingest import events
from stores import BENCH_STORE, POSTGRES, fresh_store_url

from consentkit.analytics.batch import CubeBatch
from consentkit.analytics.cube import cube_batch, pack
from consentkit.analytics.sketch_arrays import union_each
from consentkit.query.parse import parse_query
from consentkit.query.plan import plan_query
from consentkit.store import open_store
from consentkit.store import postgres_cube as cube
from consentkit.store.postgres import PostgresStore

RUNS = 3
DATABASE = (
    BENCH_STORE
    if POSTGRES
    else os.environ.get("CONSENTKIT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
)
COLUMNS = ["hour", "segment_id", "page_id", "pageviews", "anonymous_pageviews", "visitors"]
_UPSERT = (
    "ON CONFLICT (hour, segment_id, page_id) DO UPDATE SET"
    " pageviews = ck_cells.pageviews + excluded.pageviews,"
    " anonymous_pageviews = ck_cells.anonymous_pageviews + excluded.anonymous_pageviews,"
    " visitors = excluded.visitors"
)
MULTI_ROW = f"INSERT INTO ck_cells VALUES {', '.join(['(%s, %s, %s, %s, %s, %s)'] * 100)} {_UPSERT}"
TEMP = "CREATE TEMP TABLE ck_flush (LIKE ck_cells) ON COMMIT DROP"
FROM_TEMP = f"INSERT INTO ck_cells SELECT * FROM ck_flush {_UPSERT}"
QUERY = {
    "site_id": "bench",
    "metrics": ["visitors", "pageviews"],
    "date_range": "30d",
    "dimensions": ["visit:country"],
}
TODAY = date(2025, 11, 30)


def dollars(sql: str) -> str:
    """psycopg's ``%s`` placeholders as asyncpg's ``$1, $2...``."""
    numbers = iter(range(1, 10_000))
    return re.sub("%s", lambda _: f"${next(numbers)}", sql)


def flush_batch(pageviews: int = 80_000) -> CubeBatch:
    """One flush, aggregated as the buffer hands it over (segment and page numbers double
    as their ids here)."""
    segments: dict[Any, int] = {}
    pages: dict[str, int] = {}
    stream = events(pageviews)
    cells = np.array(
        [
            pack(hour, segments.setdefault(s, len(segments)), pages.setdefault(p, len(pages)))
            for hour, s, p, _ in stream
        ]
    )
    visitors = np.array([v for *_, v in stream], dtype=np.uint64)
    return cube_batch(list(segments), list(pages), cells, visitors, np.zeros(0, np.int64))


def cell_rows(batch: CubeBatch) -> list[tuple[Any, ...]]:
    order = np.lexsort((batch.page, batch.segment, batch.hours)).tolist()
    columns = [
        c.tolist()
        for c in (
            batch.hours,
            batch.segment,
            batch.page,
            batch.pageviews,
            batch.anonymous_pageviews,
        )
    ]
    return [(*(column[i] for column in columns), batch.visitors[i]) for i in order]


def query_plan() -> tuple[str, tuple[object, ...]]:
    plan = plan_query(parse_query(QUERY, today=TODAY, time_zone=None), PostgresStore.dialect)
    return plan.sql, plan.params


# --- psycopg: the store's own code ---------------------------------------------------------


def psycopg_steps(url: str, batch: CubeBatch) -> dict[str, list[float]]:
    import psycopg

    from consentkit.store.postgres_pool import _configure

    rows = cell_rows(batch)
    figures: dict[str, list[float]] = {}
    with psycopg.connect(url) as db:
        _configure(db)

        def timed(name: str, work: Callable[[], object], *, empty: bool = True) -> None:
            if empty:
                db.execute("TRUNCATE ck_cells, ck_daily")
                db.commit()
            start = time.perf_counter()
            work()
            db.commit()
            figures.setdefault(name, []).append(time.perf_counter() - start)

        def store_way() -> None:
            cube._write_cells(db, batch, batch.segment, batch.page)

        def multi_row() -> None:
            flat = [value for row in rows for value in row]
            with db.cursor() as cursor:
                cursor.executemany(
                    MULTI_ROW, [flat[i : i + 600] for i in range(0, len(flat) - 599, 600)]
                )

        def via_temp() -> None:
            db.execute(TEMP)
            with db.cursor().copy("COPY ck_flush FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["int8"] * 5 + ["bytea"])
                for row in rows:
                    copy.write_row(row)
            db.execute(FROM_TEMP)

        def rollups() -> None:
            cube._write_rollups(db, "bench", batch.rollups)

        sql, params = query_plan()

        def query() -> None:
            found = db.execute(sql, params, binary=True).fetchall()
            union_each([row[-1] for row in found])

        for _ in range(RUNS):  # the store's way last: its cells are what the cube keeps
            timed("roll-ups, new", rollups)
            timed("roll-ups, stored", rollups, empty=False)
            for name, work in (("multi-row", multi_row), ("temp", via_temp), ("store", store_way)):
                timed(f"{name}, new", work)
                timed(f"{name}, stored", work, empty=False)
        fill_month(lambda day: cube._write_rollups(db, "bench", shifted(batch, day)))
        db.commit()
        for _ in range(RUNS):
            timed("query", query, empty=False)
    return figures


def shifted(batch: CubeBatch, day: int) -> list[Any]:
    """The batch's first day of country and total roll-ups, as if of ``day``."""
    first = batch.rollups[0][0]
    return [
        (day, kind, value, views, sketch)
        for when, kind, value, views, sketch in batch.rollups
        if when == first and kind in ("country", "total")
    ]


def fill_month(write: Callable[[int], object]) -> None:
    first = (TODAY - date(1970, 1, 1)).days - 29
    for day in range(first, first + 30):
        write(day)


# --- asyncpg: the same statements ----------------------------------------------------------


async def asyncpg_steps(url: str, batch: CubeBatch) -> dict[str, list[float]]:
    import asyncpg

    rows = cell_rows(batch)
    keys = [list(column) for column in zip(*(row[:3] for row in rows), strict=True)]
    figures: dict[str, list[float]] = {}
    db = await asyncpg.connect(url)

    async def timed(
        name: str, work: Callable[[], Awaitable[object]], *, empty: bool = True
    ) -> None:
        if empty:
            await db.execute("TRUNCATE ck_cells, ck_daily")
        start = time.perf_counter()
        async with db.transaction():
            await work()
        figures.setdefault(name, []).append(time.perf_counter() - start)

    async def store_way() -> None:
        bounds = (keys[0][0], keys[0][-1])
        stored = await db.fetch(dollars(cube._READ_CELLS), *keys, *bounds)
        there = [n - 1 for n, _ in stored]
        if there:
            merged = union_each(
                [(old, rows[n][5]) for n, (_, old) in zip(there, stored, strict=True)]
            )
            columns = [[rows[n][c] for n in there] for c in range(5)]
            await db.execute(dollars(cube._UPDATE_CELLS), *columns, merged, *bounds)
        known = set(there)
        await db.copy_records_to_table(
            "ck_cells",
            records=[row for n, row in enumerate(rows) if n not in known],
            columns=COLUMNS,
        )

    async def multi_row() -> None:
        flat = [value for row in rows for value in row]
        await db.executemany(
            dollars(MULTI_ROW), [flat[i : i + 600] for i in range(0, len(flat) - 599, 600)]
        )

    async def via_temp() -> None:
        await db.execute(TEMP)
        await db.copy_records_to_table("ck_flush", records=rows)
        await db.execute(FROM_TEMP)

    async def write_rollups(rollups: list[Any]) -> None:
        days, kinds, values = ([r[i] for r in rollups] for i in range(3))
        stored = {
            tuple(r[:3]): (r[3], r[4])
            for r in await db.fetch(dollars(cube._READ_DAILY), days, kinds, values, "bench")
        }
        totals, sketches = [], []
        for day, kind, value, views, sketch in rollups:
            old = stored.get((day, kind, value))
            totals.append(views + old[0] if old else views)
            sketches.append((old[1], sketch) if old else (sketch,))
        await db.execute(
            dollars(cube._WRITE_DAILY), "bench", days, kinds, values, totals, union_each(sketches)
        )

    sql, params = query_plan()

    async def query() -> None:
        found = await db.fetch(dollars(sql), *params)
        union_each([row[-1] for row in found])

    for _ in range(RUNS):  # in the same order as psycopg_steps
        await timed("roll-ups, new", lambda: write_rollups(list(batch.rollups)))
        await timed("roll-ups, stored", lambda: write_rollups(list(batch.rollups)), empty=False)
        for name, work in (("multi-row", multi_row), ("temp", via_temp), ("store", store_way)):
            await timed(f"{name}, new", work)
            await timed(f"{name}, stored", work, empty=False)
    for day in range((TODAY - date(1970, 1, 1)).days - 29, (TODAY - date(1970, 1, 1)).days + 1):
        await write_rollups(shifted(batch, day))
    for _ in range(RUNS):
        await timed("query", query, empty=False)
    await db.close()
    return figures


STEPS = {
    "store, new": "flush, empty cube: read + COPY (the store's way)",
    "store, stored": "flush, stored cells: read + merge + UPDATE (the store's way)",
    "multi-row, new": "flush, empty cube: 100-row INSERT ... ON CONFLICT",
    "multi-row, stored": "flush, stored cells: 100-row INSERT ... ON CONFLICT (no merge)",
    "temp, new": "flush, empty cube: COPY to temp + INSERT ... SELECT",
    "temp, stored": "flush, stored cells: COPY to temp + INSERT ... SELECT (no merge)",
    "roll-ups, new": "roll-ups: read + write, none stored",
    "roll-ups, stored": "roll-ups: read + merge + write, all stored",
    "query": "query: top countries, 30 days of roll-ups",
}


def measure() -> tuple[int, dict[str, dict[str, float]]]:
    batch = flush_batch()
    results: dict[str, dict[str, float]] = {}
    with fresh_store_url("drivers", postgres=DATABASE) as url:
        open_store(url).close()  # the schema
        found = psycopg_steps(url, batch)
        results["psycopg 3"] = {name: statistics.median(runs) for name, runs in found.items()}
        try:
            found = asyncio.run(asyncpg_steps(url, batch))
        except ImportError:
            print("asyncpg is not installed: pip install asyncpg")
        else:
            results["asyncpg"] = {name: statistics.median(runs) for name, runs in found.items()}
    return len(batch.hours), results


def report(cells: int, results: dict[str, dict[str, float]]) -> None:
    drivers = list(results)
    print(f"\nPostgreSQL drivers, one flush of {cells:,} cube cells, median of {RUNS} (ms)")
    print(f"  {'':66s}" + "".join(f"{d:>12s}" for d in drivers))
    for name, label in STEPS.items():
        print(f"  {label:66s}" + "".join(f"{results[d][name] * 1000:12.1f}" for d in drivers))


@pytest.mark.benchmark
def test_both_drivers_write_the_same_cube() -> None:
    """The comparison is fair only if both do the same work: after the same steps, each
    driver leaves the same cells (the store's way, twice) and roll-ups."""
    pytest.importorskip("asyncpg")
    batch = flush_batch(3_000)
    contents = []
    for driver in ("psycopg", "asyncpg"):
        with fresh_store_url(driver, postgres=DATABASE) as url:
            open_store(url).close()
            if driver == "psycopg":
                psycopg_steps(url, batch)
            else:
                asyncio.run(asyncpg_steps(url, batch))
            import psycopg

            with psycopg.connect(url) as db:
                contents.append(
                    [
                        db.execute("SELECT * FROM ck_cells ORDER BY 1, 2, 3").fetchall(),
                        db.execute("SELECT * FROM ck_daily ORDER BY 1, 2, 3, 4").fetchall(),
                    ]
                )
    assert contents[0] == contents[1]
    assert contents[0][0] and contents[0][1]


if __name__ == "__main__":
    report(*measure())
