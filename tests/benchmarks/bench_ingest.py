"""Ingest: 1,000,000 page views counted into the buffer and flushed to SQLite.

    python tests/benchmarks/bench_ingest.py
    pytest tests/benchmarks/bench_ingest.py     # asserts the budget (under 5 s)

The page views are a realistic spread: 60 countries, 4 devices, 12 browsers, 8 OS, 300
pages, 100,000 visitors, over one day; the buffer flushes every 100,000 page views, as it
would about once a second on a busy site. Time counts everything from the first count()
to the last commit; generating the events is done before the clock starts.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import tempfile
import time
from pathlib import Path

import pytest

from consentkit.buffer import PageViewBuffer
from consentkit.records import CubeKey
from consentkit.sketch import visitor_hash
from consentkit.store import open_store

PAGEVIEWS = 1_000_000
FLUSH_EVERY = 100_000


def events(count: int, seed: int = 3) -> list[tuple[CubeKey, int]]:
    rng = random.Random(seed)
    countries = [f"{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(60)]
    devices = ["desktop", "mobile", "tablet", "other"]
    browsers = [f"Browser {i}" for i in range(12)]
    systems = [f"OS {i}" for i in range(8)]
    pages = [f"/section/{i}/{{slug}}" for i in range(300)]
    key = b"k" * 32
    visitors = [visitor_hash(key, f"visitor-{i}") for i in range(100_000)]
    start_hour = 490_000
    result = []
    for _ in range(count):
        visitor = rng.randrange(len(visitors))
        vrng = random.Random(visitor)  # a visitor keeps their country, device, browser, OS
        cell = CubeKey(
            start_hour + rng.randrange(24),
            countries[min(int(vrng.expovariate(0.15)), 59)],
            devices[vrng.choices(range(4), weights=[50, 40, 8, 2])[0]],
            browsers[min(int(vrng.expovariate(0.5)), 11)],
            systems[min(int(vrng.expovariate(0.6)), 7)],
            pages[min(int(rng.expovariate(0.02)), 299)],
        )
        result.append((cell, visitors[visitor]))
    return result


async def ingest(buffer: PageViewBuffer, stream: list[tuple[CubeKey, int]]) -> float:
    start = time.perf_counter()
    for index, (cell, visitor) in enumerate(stream, 1):
        buffer.count(cell, visitor)
        if index % FLUSH_EVERY == 0:
            await buffer.flush()
    await buffer.flush()
    return time.perf_counter() - start


def measure() -> dict[str, float]:
    folder = Path(tempfile.mkdtemp())
    url = f"sqlite:///{folder / 'ingest.sqlite3'}"
    store = open_store(url)
    buffer = PageViewBuffer(store, site="bench")
    stream = events(PAGEVIEWS)
    seconds = asyncio.run(ingest(buffer, stream))
    with sqlite3.connect(folder / "ingest.sqlite3") as db:
        stored, cells = db.execute("SELECT SUM(pageviews), COUNT(*) FROM ck_pageviews").fetchone()
    assert stored == PAGEVIEWS, stored
    visitors = store.query({"site_id": "bench", "metrics": ["visitors"], "date_range": "all"})
    store.close()
    return {"seconds": seconds, "cells": cells,
            "visitors": visitors["results"][0]["metrics"][0]}


def report(figures: dict[str, float]) -> None:
    print(f"\ningest {PAGEVIEWS:,} page views (flush every {FLUSH_EVERY:,})")
    print(f"  total                {figures['seconds']:8.2f} s   (budget < 5 s)")
    print(f"  per page view        {figures['seconds'] / PAGEVIEWS * 1e6:8.2f} us")
    print(f"  cube cells stored    {figures['cells']:8,.0f}")
    print(f"  unique visitors      {figures['visitors']:8,.0f}   (of 100,000 generated)")


@pytest.mark.benchmark
def test_ingest_budget() -> None:
    figures = measure()
    report(figures)
    assert figures["seconds"] < 5.0


if __name__ == "__main__":
    report(measure())
