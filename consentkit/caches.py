"""The bounded in-memory caches of the request path (visitors, decisions, countries)."""

from __future__ import annotations

import itertools
from typing import Any, TypeVar

V = TypeVar("V")


def forget_oldest(cache: dict[Any, V], limit: int) -> list[V]:
    """Make room in a full cache of at most ``limit`` entries: its oldest sixteenth (by
    insertion) dropped in one pass; the values dropped. Dropped one at a time, each
    insertion walked the slots that the ones before had emptied at the front of the dict
    (6,000 instructions a new visitor under a flood)."""
    return [cache.pop(key) for key in list(itertools.islice(cache, max(1, limit // 16)))]
