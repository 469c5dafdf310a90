"""Query speed on a large site: top countries over 30 days, daily visitors over 90 days.

    python tests/benchmarks/bench_query.py            # 10,000,000 page views (slow to build)
    CONSENTKIT_BENCH_PAGEVIEWS=1000000 python tests/benchmarks/bench_query.py
    CONSENTKIT_BENCH_STORE=postgresql://postgres@127.0.0.1/test \
        python tests/benchmarks/bench_query.py        # the same site in PostgreSQL

The site: page views spread over 90 days with realistic skew (60 countries, 4 devices,
12 browsers, 8 OS, 300 pages, returning visitors). It is built once through the real buffer
and store and kept for later runs (a file in the temporary directory, or a schema of the
PostgreSQL database). Each query is timed as the median of 5 runs. The budgets hold for both
stores.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

import pytest
from stores import backend_name, kept_store_url, mark_built
from traffic import page, traits_of

from consentkit.analytics.buffer import PageViewBuffer
from consentkit.analytics.sketch import visitor_hash
from consentkit.store import open_store

PAGEVIEWS = int(os.environ.get("CONSENTKIT_BENCH_PAGEVIEWS", "10000000"))
DAYS = 90
NOW = 1_795_000_000.0  # the clock the queries see: the day after the last generated day
BUDGETS = {"top countries, 30 days": 0.050, "daily visitors, 90 days": 0.100}


def build(url: str) -> None:
    rng = random.Random(11)
    key = b"q" * 32
    population = max(PAGEVIEWS // 8, 1000)
    traits = {}
    store = open_store(url)
    buffer = PageViewBuffer(store, site="bench", max_pending=1_000_000)
    first_hour = int(NOW // 3600) - DAYS * 24

    async def fill() -> None:
        per_day = PAGEVIEWS // DAYS
        for day in range(DAYS):
            for _ in range(per_day):
                visitor = int(rng.paretovariate(1.2)) % population
                if visitor not in traits:
                    traits[visitor] = (traits_of(visitor), visitor_hash(key, f"v{visitor}"))
                (country, device, browser, system), hashed = traits[visitor]
                hour = first_hour + day * 24 + rng.randrange(24)
                buffer.count(hour, (country, device, browser, system), page(rng), hashed)
            await buffer.flush()

    asyncio.run(fill())
    store.close()
    mark_built(url)


def timed(store, query) -> float:
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        store.query(query)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def measure() -> dict[str, float]:
    url, built = kept_store_url(str(PAGEVIEWS))
    if not built:
        started = time.perf_counter()
        build(url)
        print(f"built {PAGEVIEWS:,} page views in {time.perf_counter() - started:.0f} s")
    store = open_store(url, clock=lambda: NOW)
    today = datetime.fromtimestamp(NOW, UTC).date()
    return {
        "top countries, 30 days": timed(
            store,
            {
                "site_id": "bench",
                "metrics": ["visitors", "pageviews"],
                "dimensions": ["visit:country"],
                "date_range": "30d",
                "pagination": {"limit": 10},
            },
        ),
        "daily visitors, 90 days": timed(
            store,
            {
                "site_id": "bench",
                "metrics": ["visitors"],
                "dimensions": ["time:day"],
                "date_range": [(today - timedelta(days=DAYS - 1)).isoformat(), today.isoformat()],
            },
        ),
    }


def report(figures: dict[str, float]) -> None:
    print(f"\nqueries over {PAGEVIEWS:,} page views in {backend_name()}, median of 5")
    for name, seconds in figures.items():
        print(f"  {name:28s} {seconds * 1000:9.1f} ms   (budget {BUDGETS[name] * 1000:.0f} ms)")


@pytest.mark.benchmark
def test_query_budgets() -> None:
    figures = measure()
    report(figures)
    for name, seconds in figures.items():
        assert seconds < BUDGETS[name], name


if __name__ == "__main__":
    report(measure())
