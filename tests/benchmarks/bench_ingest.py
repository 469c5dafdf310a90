"""Ingest: 1,000,000 page views counted into the buffer and flushed to SQLite (or PostgreSQL).

    python tests/benchmarks/bench_ingest.py
    pytest tests/benchmarks/bench_ingest.py     # asserts the budget (under 5 s, SQLite)
    CONSENTKIT_BENCH_STORE=postgresql://postgres@127.0.0.1/test \
        python tests/benchmarks/bench_ingest.py     # the same into PostgreSQL (no budget)

Two spreads of the same size, both over one day with 60 countries, 4 devices, 12 browsers,
8 OS, 300 pages and 100,000 visitors: "sessions" (the realistic one: a visit is a few pages
within the hour, visitors keep their country and device) and "scattered" (the worst case:
every page view of a visitor lands in a random hour, so nearly each one is a cube cell of
its own). The buffer flushes every 100,000 page views, as it would about once a second on a
busy site. Time counts everything from the first count() to the last commit; generating the
events is done before the clock starts. The budget applies to the realistic spread.
"""

from __future__ import annotations

import asyncio
import random
import time

import pytest
from stores import POSTGRES, backend_name, fresh_store_url, rows
from traffic import page, traits_of

from consentkit.analytics.batch import Segment
from consentkit.analytics.buffer import PageViewBuffer
from consentkit.analytics.sketch import visitor_hash
from consentkit.store import open_store

PAGEVIEWS = 1_000_000
FLUSH_EVERY = 100_000


def events(
    count: int, seed: int = 3, *, sessions: bool = True
) -> list[tuple[int, Segment, str, int]]:
    rng = random.Random(seed)
    key = b"k" * 32
    visitors = [visitor_hash(key, f"visitor-{i}") for i in range(100_000)]
    start_hour = 490_000
    result: list[tuple[int, Segment, str, int]] = []
    while len(result) < count:
        visitor = rng.randrange(len(visitors))
        traits = traits_of(visitor)
        hour = start_hour + rng.randrange(24)
        for _ in range(1 + int(rng.expovariate(0.3)) if sessions else 1):
            result.append((hour, traits, page(rng), visitors[visitor]))
    return result[:count]


async def ingest(buffer: PageViewBuffer, stream: list[tuple[int, Segment, str, int]]) -> float:
    start = time.perf_counter()
    for index, (hour, segment, path, visitor) in enumerate(stream, 1):
        buffer.count(hour, segment, path, visitor)
        if index % FLUSH_EVERY == 0:
            await buffer.flush()
    await buffer.flush()
    # SQLite: until the background checkpoint has copied the log into the database file too.
    checkpointer = getattr(buffer.store, "_checkpointer", None)
    if checkpointer is not None:
        checkpointer.wait_idle()
    return time.perf_counter() - start


def measure(*, sessions: bool = True) -> dict[str, float]:
    with fresh_store_url("ingest") as url:
        store = open_store(url)
        buffer = PageViewBuffer(store, site="bench")
        stream = events(PAGEVIEWS, sessions=sessions)
        seconds = asyncio.run(ingest(buffer, stream))
        ((stored, cells),) = rows(url, "SELECT SUM(pageviews), COUNT(*) FROM ck_cells")
        assert stored == PAGEVIEWS, stored
        visitors = store.query({"site_id": "bench", "metrics": ["visitors"], "date_range": "all"})
        store.close()
    return {"seconds": seconds, "cells": cells, "visitors": visitors["results"][0]["metrics"][0]}


def report(figures: dict[str, float], spread: str = "sessions") -> None:
    print(
        f"\ningest {PAGEVIEWS:,} page views into {backend_name()}, {spread}"
        f" (flush every {FLUSH_EVERY:,})"
    )
    budget = "no budget" if POSTGRES else "budget < 5 s"
    print(f"  total                {figures['seconds']:8.2f} s   ({budget})")
    print(f"  per page view        {figures['seconds'] / PAGEVIEWS * 1e6:8.2f} us")
    print(f"  cube cells stored    {figures['cells']:8,.0f}")
    print(f"  unique visitors      {figures['visitors']:8,.0f}   (of 100,000 generated)")


@pytest.mark.benchmark
def test_ingest_budget() -> None:
    figures = measure()
    report(figures)
    assert figures["seconds"] < (60.0 if POSTGRES else 5.0)  # the budget is SQLite's


if __name__ == "__main__":
    report(measure())
    report(measure(sessions=False), "scattered: the worst case")
