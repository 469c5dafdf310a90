"""Daily roll-ups: per day, the totals and each single dimension, for long-range queries.

A query over 30 or 90 days that breaks down by at most one dimension (top countries, daily
visitors) reads a few thousand roll-up rows instead of every hourly cube cell. A roll-up's
visitor sketch is the union of its cells' sketches, so both paths give the same answer; here
it is computed from the cells' distinct sketch entries of one flush, with NumPy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from .batch import Rollup, Segment
from .sketch_arrays import Entries, Groups, distinct_entries, encode_groups, union_each

TOTAL = "total"
KINDS = {  # roll-up kind -> query dimension
    "country": "visit:country",
    "device": "visit:device",
    "browser": "visit:browser",
    "os": "visit:os",
    "page": "event:page",
}
_SEGMENT_KINDS = (TOTAL, "country", "device", "browser", "os")  # (segment field + 1)


def _codes(values: Iterable[str]) -> tuple[Groups, list[str]]:
    """A small integer per distinct value, and the values in code order."""
    index: dict[str, int] = {}
    codes = np.fromiter((index.setdefault(v, len(index)) for v in values), dtype=np.int64)
    return codes, list(index)


def _rollups(
    kind: str,
    days: NDArray[np.int64],
    unit_day: Groups,
    unit_value: Groups,
    values: Sequence[str],
    unit_views: NDArray[np.int64],
    entry_unit: Groups,
    entries: Entries,
) -> list[Rollup]:
    """Roll-ups of one kind from units (cells, or groups of cells) that each lie in one
    (day, value): page views add up, sketch entries union."""
    width = max(len(values), 1)
    keys, unit_group = np.unique(unit_day * width + unit_value, return_inverse=True)
    views = np.zeros(len(keys), dtype=np.int64)
    np.add.at(views, unit_group, unit_views)
    sketches = encode_groups(*distinct_entries(unit_group[entry_unit], entries), len(keys))
    return [
        (int(days[key // width]), kind, values[key % width], count, sketch)
        for key, count, sketch in zip(keys.tolist(), views.tolist(), sketches, strict=True)
    ]


def daily_rollups(
    segments: Sequence[Segment],
    pages: Sequence[str],
    hours: NDArray[np.int64],
    segment: Groups,
    page: Groups,
    views: NDArray[np.int64],
    entry_cell: Groups,
    entries: Entries,
) -> list[Rollup]:
    """Every roll-up that a batch of cube cells touches, sorted.

    Cell ``i`` is ``hours[i]`` for ``segments[segment[i]]`` on ``pages[page[i]]``, with
    ``views[i]`` page views; its distinct sketch entries are ``entries[entry_cell == i]``.
    """
    days, cell_day = np.unique(hours // 24, return_inverse=True)
    result = _rollups("page", days, cell_day, page, pages, views, entry_cell, entries)
    # The other kinds do not depend on the page: first fold the cells into one unit per
    # (day, segment), which leaves far fewer entries to sort.
    unit_keys, first_cell, cell_unit = np.unique(
        cell_day * max(len(segments), 1) + segment, return_index=True, return_inverse=True
    )
    unit_day, unit_segment = cell_day[first_cell], segment[first_cell]
    unit_views = np.zeros(len(unit_keys), dtype=np.int64)
    np.add.at(unit_views, cell_unit, views)
    entry_unit, unit_entries = distinct_entries(cell_unit[entry_cell], entries)
    for field, kind in enumerate(_SEGMENT_KINDS, -1):
        values = [""]
        codes = np.zeros(len(segments), dtype=np.int64)
        if kind != TOTAL:
            codes, values = _codes(s[field] for s in segments)
        result += _rollups(
            kind,
            days,
            unit_day,
            codes[unit_segment],
            values,
            unit_views,
            entry_unit,
            unit_entries,
        )
    result.sort(key=lambda rollup: rollup[:3])
    return result


def add_to_stored(
    rollups: Sequence[Rollup], stored: Mapping[tuple[int, str, str], tuple[int, bytes]]
) -> tuple[list[int], list[bytes]]:
    """Each roll-up added to what a store holds for it already ((day, kind, value) ->
    (page views, sketch)): the page views and the merged sketches, in the roll-ups' order.
    ValueError when a stored sketch is corrupt."""
    totals, sketches = [], []
    for day, kind, value, views, sketch in rollups:
        old = stored.get((day, kind, value))
        totals.append(views + old[0] if old else views)
        sketches.append((old[1], sketch) if old else (sketch,))
    return totals, union_each(sketches)
