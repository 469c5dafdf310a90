"""Daily roll-ups: per day, the totals and each single dimension, for long-range queries.

A query over 30 or 90 days that breaks down by at most one dimension (top countries, daily
visitors) reads a few thousand roll-up rows instead of every hourly cube cell. A roll-up's
visitor sketch is the union of its cells' sketches, so both paths give the same answer.
"""

from __future__ import annotations

from collections.abc import Sequence

from .records import CubeDelta
from .sketch import union

TOTAL = "total"
KINDS = {  # roll-up kind -> query dimension
    "country": "visit:country",
    "device": "visit:device",
    "browser": "visit:browser",
    "os": "visit:os",
    "page": "event:page",
}


def daily_rollups(cells: Sequence[CubeDelta]) -> list[tuple[int, str, str, int, bytes]]:
    """(day, kind, value, page views, visitors sketch) for every roll-up these cells touch."""
    groups: dict[tuple[int, str, str], tuple[list[int], list[bytes]]] = {}
    for cell in cells:
        key = cell.key
        day = key.hour // 24
        views = cell.pageviews + cell.anonymous_pageviews
        for kind, value in (
            (TOTAL, ""), ("country", key.country), ("device", key.device),
            ("browser", key.browser), ("os", key.os), ("page", key.page),
        ):
            group = groups.get((day, kind, value))
            if group is None:
                group = groups[(day, kind, value)] = ([0], [])
            group[0][0] += views
            group[1].append(cell.visitors)
    return [
        (day, kind, value, views[0], union(sketches).to_bytes())
        for (day, kind, value), (views, sketches) in sorted(groups.items())
    ]
