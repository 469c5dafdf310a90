"""The synthetic site the ingest and query benchmarks share: its dimensions and skew.

60 countries, 4 devices, 12 browsers, 8 OS and 300 page templates, each with a long tail;
a visitor keeps their country, device, browser and OS.
"""

from __future__ import annotations

import random

COUNTRIES = [f"{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(60)]
DEVICES = ["desktop", "mobile", "tablet", "other"]
BROWSERS = [f"Browser {i}" for i in range(12)]
SYSTEMS = [f"OS {i}" for i in range(8)]
PAGES = [f"/section/{i}/{{slug}}" for i in range(300)]


def traits_of(visitor: int) -> tuple[str, str, str, str]:
    """Country, device, browser and OS of a visitor: the same every time it is asked."""
    rng = random.Random(visitor)
    return (
        COUNTRIES[min(int(rng.expovariate(0.15)), 59)],
        DEVICES[rng.choices(range(4), weights=[50, 40, 8, 2])[0]],
        BROWSERS[min(int(rng.expovariate(0.5)), 11)],
        SYSTEMS[min(int(rng.expovariate(0.6)), 7)],
    )


def page(rng: random.Random) -> str:
    """A page, popular ones far more often."""
    return PAGES[min(int(rng.expovariate(0.02)), 299)]
