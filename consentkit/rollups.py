"""Daily roll-ups: per day, the totals and each single dimension, for long-range queries.

A query over 30 or 90 days that breaks down by at most one dimension (top countries, daily
visitors) reads a few thousand roll-up rows instead of every hourly cube cell. A roll-up's
visitor sketch is the union of its cells' sketches, so both paths give the same answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .records import CubeDelta, CubeKey
from .sketch import encode_hashes, union

TOTAL = "total"
KINDS = {  # roll-up kind -> query dimension
    "country": "visit:country",
    "device": "visit:device",
    "browser": "visit:browser",
    "os": "visit:os",
    "page": "event:page",
}


Rollup = tuple[int, str, str, int, bytes]  # day, kind, value, page views, visitors sketch


def _keys(key: CubeKey) -> tuple[tuple[int, str, str], ...]:
    day = key.hour // 24
    return (
        (day, TOTAL, ""), (day, "country", key.country), (day, "device", key.device),
        (day, "browser", key.browser), (day, "os", key.os), (day, "page", key.page),
    )


def rollups_from_hashes(cells: Iterable[tuple[CubeKey, int, set[int]]]) -> list[Rollup]:
    """Roll-ups of buffered cells (key, page views, visitor hashes): sets union cheaply."""
    groups: dict[tuple[int, str, str], tuple[list[int], set[int]]] = {}
    for key, views, hashes in cells:
        for group_key in _keys(key):
            group = groups.get(group_key)
            if group is None:
                group = groups[group_key] = ([0], set())
            group[0][0] += views
            group[1].update(hashes)
    return [
        (day, kind, value, views[0], encode_hashes(hashes))
        for (day, kind, value), (views, hashes) in sorted(groups.items())
    ]


def daily_rollups(cells: Sequence[CubeDelta]) -> list[Rollup]:
    """(day, kind, value, page views, visitors sketch) for every roll-up these cells touch."""
    groups: dict[tuple[int, str, str], tuple[list[int], list[bytes]]] = {}
    for cell in cells:
        views = cell.pageviews + cell.anonymous_pageviews
        for group_key in _keys(cell.key):
            group = groups.get(group_key)
            if group is None:
                group = groups[group_key] = ([0], [])
            group[0][0] += views
            group[1].append(cell.visitors)
    return [
        (day, kind, value, views[0], union(sketches).to_bytes())
        for (day, kind, value), (views, sketches) in sorted(groups.items())
    ]
