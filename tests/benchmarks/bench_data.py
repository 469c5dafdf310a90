"""The data path on the realistic site: ingest, storage and queries, against DuckDB.

    python tests/benchmarks/bench_data.py                      # SQLite, 10,000,000 page views
    CONSENTKIT_BENCH_PAGEVIEWS=1000000 python tests/benchmarks/bench_data.py
    CONSENTKIT_BENCH_STORE=postgresql://postgres@127.0.0.1/test \\
        python tests/benchmarks/bench_data.py                  # the same into PostgreSQL
    pytest tests/benchmarks/bench_data.py -s                   # asserts the budgets

The realistic site (``realistic_site.py``, DESIGN section 8) is counted through the real
``PageViewBuffer`` into a new store, flushed every 100,000 page views (about a second of a
busy site) and rolled up as the store does it; ingest is timed per million page views, in
CPU time of this process (the flush's worker threads included) and in wall time. Then:

- storage: bytes on disk per page view (SQLite: the database file; PostgreSQL: the cube's
  tables with their indexes and TOAST), against DuckDB holding the same page views as raw
  events (its file, after a checkpoint);
- queries, median of 5: top countries over 30 days and visitors per day over 90 days (the
  budgets), and for information top pages over 30 days and country by device over 30 days,
  against DuckDB over the raw events, exact (``COUNT(DISTINCT)``) and approximate
  (``approx_count_distinct``);
- accuracy: the visitors each query answers against the exact count.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from realistic_site import NOW, realistic_site
from site_data import counted, feed, raw_events
from stores import POSTGRES, backend_name, fresh_store_url, rows

from consentkit.analytics.buffer import PageViewBuffer
from consentkit.store import open_store

PAGEVIEWS = int(os.environ.get("CONSENTKIT_BENCH_PAGEVIEWS", "10000000"))
SITE = "bench"
BUDGETS = {
    "ingest, 1M page views (s)": 8.0 if POSTGRES else 5.0,
    "storage (bytes per page view)": 12.0,
    "top countries, 30 days (ms)": 50.0,
    "visitors per day, 90 days (ms)": 100.0,
}
QUERIES: dict[str, dict[str, Any]] = {
    "top countries, 30 days": {
        "metrics": ["visitors", "pageviews"], "dimensions": ["visit:country"],
        "date_range": "30d", "pagination": {"limit": 10},
    },
    "visitors per day, 90 days": {
        "metrics": ["visitors"], "dimensions": ["time:day"], "date_range": "all",
    },
    "top pages, 30 days": {
        "metrics": ["visitors", "pageviews"], "dimensions": ["event:page"],
        "date_range": "30d", "pagination": {"limit": 10},
    },
    "country by device, 30 days": {
        "metrics": ["visitors"], "dimensions": ["visit:country", "visit:device"],
        "date_range": "30d", "pagination": {"limit": 10},
    },
}  # fmt: skip
DUCKDB = {  # the same questions over raw events; {distinct} is exact or approximate
    "top countries, 30 days": (
        "SELECT country, {distinct}, COUNT(*) FROM events WHERE ts >= {last30}"
        " GROUP BY country ORDER BY 2 DESC LIMIT 10"
    ),
    "visitors per day, 90 days": (
        "SELECT ts // 86400 AS day, {distinct} FROM events GROUP BY day ORDER BY day"
    ),
    "top pages, 30 days": (
        "SELECT page, {distinct}, COUNT(*) FROM events WHERE ts >= {last30}"
        " GROUP BY page ORDER BY 2 DESC LIMIT 10"
    ),
    "country by device, 30 days": (
        "SELECT country, device, {distinct} FROM events WHERE ts >= {last30}"
        " GROUP BY country, device ORDER BY 3 DESC LIMIT 10"
    ),
}
EXACT, APPROXIMATE = "COUNT(DISTINCT visitor)", "approx_count_distinct(visitor)"


def median_ms(run: Callable[[], object], times: int = 5) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def ingest(url: str) -> dict[str, Any]:
    """Count and store the site; CPU and wall time per million page views."""
    data = counted(realistic_site(PAGEVIEWS))
    store = open_store(url, clock=lambda: NOW)
    buffer = PageViewBuffer(store, site=SITE, max_pending=2_000_000)
    marks: list[tuple[int, float, float]] = [(0, time.process_time(), time.perf_counter())]

    async def run() -> None:
        for done in feed(buffer, data, slice(0, PAGEVIEWS)):
            await buffer.flush()
            if done % 1_000_000 == 0 or done == PAGEVIEWS:
                marks.append((done, time.process_time(), time.perf_counter()))
        store.compact(SITE)
        marks.append((PAGEVIEWS, time.process_time(), time.perf_counter()))

    asyncio.run(run())
    store.close()
    first = marks[1]
    per_million = [
        ((cpu - before_cpu) / (done - before) * 1e6, (wall - before_wall) / (done - before) * 1e6)
        for (before, before_cpu, before_wall), (done, cpu, wall) in itertools.pairwise(marks)
        if done > before
    ]  # fmt: skip
    return {
        "first million cpu": first[1] - marks[0][1],
        "first million wall": first[2] - marks[0][2],
        "per million": per_million,
        "total cpu": marks[-1][1] - marks[0][1],
        "total wall": marks[-1][2] - marks[0][2],
        "roll-up cpu": marks[-1][1] - marks[-2][1],
    }


CUBE_TABLES = ("ck_values", "ck_blocks", "ck_rollups", "ck_bots")
PG_SIZE = (
    "SELECT SUM(pg_total_relation_size(c.oid)) FROM pg_class c"
    " JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = current_schema() AND c.relkind = 'r'"
    f" AND c.relname IN ({', '.join(repr(t) for t in CUBE_TABLES)})"
)


def storage_bytes(url: str) -> tuple[int, int]:
    """Bytes on disk: as the ingest left them, and once the space of rows compaction
    replaced is reclaimed. SQLite reuses freed pages at once (the two are equal); on
    PostgreSQL the replaced rows (the flushes' blocks, merged) stay until a vacuum, which
    autovacuum does on a live site as it goes, so the second figure, after ``VACUUM
    FULL``, is what a site that grew over 90 days holds (the first is a bulk load's peak)."""
    if not POSTGRES:
        path = url.removeprefix("sqlite:///")
        rows(url, "PRAGMA wal_checkpoint(TRUNCATE)")
        return os.path.getsize(path), os.path.getsize(path)
    ((loaded,),) = rows(url, PG_SIZE)
    rows(url, f"VACUUM FULL {', '.join(CUBE_TABLES)}")
    ((settled,),) = rows(url, PG_SIZE)
    return int(loaded), int(settled)


def duckdb_baseline(folder: Path) -> tuple[Any, int]:
    import duckdb

    events = raw_events(realistic_site(PAGEVIEWS))
    path = folder / "events.duckdb"
    db = duckdb.connect(str(path))
    import pandas as pd  # duckdb reads a DataFrame without copying it row by row

    db.register("frame", pd.DataFrame(events))
    db.execute("CREATE TABLE events AS SELECT * FROM frame")
    db.execute("CHECKPOINT")
    return db, os.path.getsize(path)


def measure() -> dict[str, Any]:
    results: dict[str, Any] = {}
    with fresh_store_url("data") as url:
        results["ingest"] = ingest(url)
        results["loaded bytes"], results["bytes"] = storage_bytes(url)
        store = open_store(url, clock=lambda: NOW)
        folder = Path(tempfile.mkdtemp())
        duck, duck_bytes = duckdb_baseline(folder)
        results["duckdb bytes"] = duck_bytes
        last30 = (int(NOW // 86400) - 29) * 86400
        results["queries"] = {}
        for name, query in QUERIES.items():
            answer = store.query({"site_id": SITE, **query})
            sql = DUCKDB[name].replace("{last30}", str(last30))
            exact = duck.execute(sql.format(distinct=EXACT)).fetchall()
            results["queries"][name] = {
                "ms": median_ms(lambda q=query: store.query({"site_id": SITE, **q})),
                "duckdb exact ms": median_ms(lambda s=sql: duck.execute(
                    s.format(distinct=EXACT)).fetchall()),
                "duckdb approx ms": median_ms(lambda s=sql: duck.execute(
                    s.format(distinct=APPROXIMATE)).fetchall()),
                "worst error": worst_error(answer, exact),
            }  # fmt: skip
        store.close()
    return results


def worst_error(answer: dict[str, Any], exact: list[tuple[Any, ...]]) -> float:
    """The largest relative error of the visitors answered, against DuckDB's exact counts
    (rows matched on their dimension values; rows of fewer than 100 visitors left out)."""
    width = len(answer["query"]["dimensions"])
    truth = {}
    for row in exact:
        labels = tuple(str(v) for v in row[:width])
        truth[labels] = row[width]
    errors = []
    for row in answer["results"]:
        labels = tuple(row["dimensions"])
        if answer["query"]["dimensions"] == ["time:day"]:
            from datetime import date

            labels = (str((date.fromisoformat(labels[0]) - date(1970, 1, 1)).days),)
        expected = truth.get(labels)
        if expected and expected >= 100:
            errors.append(abs(row["metrics"][0] / expected - 1))
    return max(errors) if errors else float("nan")


def report(results: dict[str, Any]) -> dict[str, float]:
    ingest_figures = results["ingest"]
    per_million = [cpu for cpu, _ in ingest_figures["per million"]]
    figures = {
        "ingest, 1M page views (s)": ingest_figures["first million cpu"],
        "storage (bytes per page view)": results["bytes"] / PAGEVIEWS,
        "top countries, 30 days (ms)": results["queries"]["top countries, 30 days"]["ms"],
        "visitors per day, 90 days (ms)": results["queries"]["visitors per day, 90 days"]["ms"],
    }
    print(f"\nthe realistic site, {PAGEVIEWS:,} page views, into {backend_name()}")
    print(
        f"  ingest, first million: {ingest_figures['first million cpu']:.2f} s CPU"
        f" ({ingest_figures['first million wall']:.2f} s wall), budget"
        f" {BUDGETS['ingest, 1M page views (s)']:g} s"
    )
    print(
        "  ingest, CPU per page view by million: "
        + ", ".join(f"{us:.2f}" for us in per_million)
        + " us"
        + f" (last: the final roll-up, {ingest_figures['roll-up cpu']:.2f} s)"
    )
    if len(per_million) > 2:
        print(
            f"  flat? the 10th million costs {per_million[-2] / per_million[0]:.2f}x the"
            " first (budget <= 1.2x)"
        )
    print(
        f"  storage: {figures['storage (bytes per page view)']:.2f} bytes per page view"
        f" (budget 12); DuckDB's raw events {results['duckdb bytes'] / PAGEVIEWS:.2f}"
        f" ({results['bytes'] / results['duckdb bytes']:.2f}x DuckDB)"
    )
    print(
        f"  {'query, median of 5':30} {'ms':>8} {'DuckDB exact':>13} {'approx':>8}"
        f" {'vs exact':>9} {'worst error':>12}"
    )
    for name, q in results["queries"].items():
        print(
            f"  {name:30} {q['ms']:8.1f} {q['duckdb exact ms']:13.1f}"
            f" {q['duckdb approx ms']:8.1f} {q['ms'] / q['duckdb exact ms']:8.2f}x"
            f" {q['worst error']:11.2%}"
        )
    return figures


@pytest.mark.benchmark
def test_data_budgets() -> None:
    figures = report(measure())
    for name, value in figures.items():
        assert value < BUDGETS[name], name


if __name__ == "__main__":
    report(measure())
    np.seterr(all="ignore")
