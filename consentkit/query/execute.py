"""Answering a page-view query from the cube's cells, with NumPy.

A store hands over decoded cells (``CubeReader``): the daily roll-ups of one dimension, or
the hourly blocks. This module picks which (a query that breaks down or filters by at most
one dimension, by whole UTC days, reads the roll-ups: a few small rows a day, whatever the
traffic), keeps the cells the filters select (a filter is decided on each dimension's
distinct values, never cell by cell), groups what is left by the query's dimensions and
adds up each group: page views by summing, visitors as the union of the group's sketches.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from ..analytics.cells import KEYS, Cells, concat, group_rows, sums, take, visitors
from ..analytics.rollups import KINDS, SEGMENT, SEGMENT_KEYS, TOTAL, page_views, rollup
from .model import AllOf, AnyOf, Condition, Filter, Negation, Query, filter_dimensions
from .results import time_label

# query dimension -> the cube's key column
COLUMNS = {
    "visit:country": "country",
    "visit:device": "device",
    "visit:browser": "browser",
    "visit:os": "os",
    "visit:source": "source",
    "visit:utm_medium": "medium",
    "visit:utm_campaign": "campaign",
    "event:page": "page",
}
ROLLUP_OF = {dimension: kind for kind, dimension in KINDS.items() if dimension is not None}
IN_SEGMENTS = frozenset(d for d, column in COLUMNS.items() if column in SEGMENT_KEYS)
OTHER = "(other)"

Ints = NDArray[np.int64]
Table = list[tuple[tuple[str, ...], dict[str, Any]]]


class CubeReader(Protocol):
    """What a store gives a query, all from one snapshot of the database."""

    def blocks(
        self,
        site: str,
        first_hour: int,
        end_hour: int,
        *,
        waiting_only: bool = False,
        keys: Sequence[str] = KEYS,
    ) -> list[tuple[int, Cells]]: ...

    def rollups(
        self, site: str, kind: str, first_day: int, end_day: int
    ) -> list[tuple[int, Cells]]: ...

    def rollup_days(self, site: str, kind: str, first_day: int, end_day: int) -> set[int]: ...

    def names(self, numbers: Sequence[int]) -> dict[int, str]: ...

    def values_of(self, kind: str) -> dict[int, str]: ...


def rollup_kind(query: Query) -> str | None:
    """The daily roll-up that answers this query exactly, if one does."""
    if query.time_zone is not None or "time:hour" in query.dimensions:
        return None
    used = {d for d in query.dimensions if not d.startswith("time:")}
    used |= set(filter_dimensions(query.filters))
    if not used:
        return TOTAL
    if len(used) > 1:
        return SEGMENT if used <= IN_SEGMENTS else None
    (dimension,) = used
    return ROLLUP_OF.get(dimension)


def page_view_table(
    query: Query, reader: CubeReader, first_hour: int, end_hour: int, *, k_anonymity: int | None
) -> tuple[Table, dict[str, Any]]:
    """The answer's rows (labels and every metric's value) and what ``meta`` adds."""
    cells, hours = _select(query, reader, first_hour, end_hour)
    keep = _kept(query.filters, cells, reader)
    cells, hours = take(cells, keep), hours[keep]
    columns = [_column(dimension, cells, hours, query) for dimension in query.dimensions]
    if columns:
        group, first = group_rows([codes for codes, _ in columns])
    else:
        group, first = np.zeros(len(cells), np.int64), np.zeros(min(len(cells), 1), np.int64)
    labels = _labels(query, reader, columns, first)
    n = max(len(labels), 1)
    meta: dict[str, Any] = {}
    if k_anonymity and query.dimensions and len(labels):
        small = visitors(group, n, cells) < k_anonymity
        if small.any():
            kept = np.flatnonzero(~small)
            renumber = np.full(n, len(kept), dtype=np.int64)
            renumber[kept] = np.arange(len(kept))
            group = renumber[group]
            labels = [labels[i] for i in kept.tolist()] + [(OTHER,) * len(query.dimensions)]
            n = len(labels)
        meta = {"k_anonymity": k_anonymity, "folded_rows": int(small.sum())}
    views = sums(group, n, cells.count) + sums(group, n, cells.anonymous)
    unique = visitors(group, n, cells)
    engaged, reports = sums(group, n, cells.engaged_ms), sums(group, n, cells.engagements)
    scrolled = sums(group, n, cells.scroll)
    everyone = 0
    if "percentage" in query.metrics:  # the union of every cell the query selected
        everyone = int(visitors(np.zeros(len(cells), np.int64), 1, cells)[0])
    table: Table = []
    if not query.dimensions and not labels:
        labels = [()]  # a total is always one row, zero when nothing was counted
    for index, row_labels in enumerate(labels):
        table.append((row_labels, {
            "visitors": int(unique[index]),
            "pageviews": int(views[index]),
            "percentage": round(100 * int(unique[index]) / everyone, 1) if everyone else 0.0,
            "time_on_page": _mean(engaged[index] / 1000, reports[index]),
            "scroll_depth": _mean(scrolled[index], reports[index]),
        }))  # fmt: skip
    return table, meta


def _mean(total: float, count: int) -> float | None:
    return round(float(total) / int(count), 1) if count else None


def _select(
    query: Query, reader: CubeReader, first_hour: int, end_hour: int
) -> tuple[Cells, NDArray[np.int64]]:
    """The page-view cells a query reads, with the hour each stands for (a day's first hour
    for a roll-up's: only whole UTC days are answered from roll-ups)."""
    kind = rollup_kind(query)
    if kind == SEGMENT:  # days rolled up before segment roll-ups existed have none
        first_day, end_day = first_hour // 24, end_hour // 24
        segments = reader.rollup_days(query.site_id, SEGMENT, first_day, end_day)
        if segments != reader.rollup_days(query.site_id, TOTAL, first_day, end_day):
            kind = None
    parts: list[Cells] = []
    hours: list[NDArray[np.int64]] = []
    # Only the key columns the query reads are decoded and copied.
    used = {*query.dimensions, *filter_dimensions(query.filters)}
    keys = ["event", *(COLUMNS[d] for d in sorted(used) if d in COLUMNS)]
    if kind is None:
        for hour, cells in reader.blocks(query.site_id, first_hour, end_hour, keys=keys):
            parts.append(page_views(cells))
            hours.append(np.full(len(parts[-1]), hour, np.int64))
    else:
        for day, cells in reader.rollups(query.site_id, kind, first_hour // 24, end_hour // 24):
            parts.append(cells)
            hours.append(np.full(len(cells), day * 24, np.int64))
        # The cells of the last seconds, not rolled up yet, are rolled up here.
        waiting = reader.blocks(query.site_id, first_hour, end_hour, waiting_only=True, keys=keys)
        for hour, cells in waiting:
            parts.append(rollup(page_views(cells), kind))
            hours.append(np.full(len(parts[-1]), hour - hour % 24, np.int64))
    return concat(parts, keys), np.concatenate(hours) if hours else np.zeros(0, np.int64)


def _kept(filters: AllOf, cells: Cells, reader: CubeReader) -> NDArray[np.bool_]:
    """Which cells the filters keep: each condition is decided on the distinct values of its
    dimension, then looked up for every cell."""
    values: dict[str, dict[int, str]] = {}

    def keeps(item: Filter) -> NDArray[np.bool_]:
        if isinstance(item, AllOf | AnyOf):
            results = [keeps(inner) for inner in item.filters]
            if not results:
                return np.ones(len(cells), dtype=bool)
            combine = np.logical_and if isinstance(item, AllOf) else np.logical_or
            return combine.reduce(results)  # type: ignore[no-any-return]
        if isinstance(item, Negation):
            return ~keeps(item.filter)
        kind = COLUMNS[item.dimension]
        if kind not in values:
            values[kind] = reader.values_of(kind)
        allowed = [n for n, value in values[kind].items() if _holds(item, value)]
        inside = np.isin(cells.key(kind), np.array(allowed, dtype=np.int64))
        return ~inside if item.op == "is_not" else inside

    return keeps(filters)


def _holds(condition: Condition, value: str) -> bool:
    """Whether a stored value is what ``is`` or ``contains`` asks for (``is_not`` is the
    negation of ``is``)."""
    if condition.op == "contains":
        return any(wanted in value for wanted in condition.values)
    return value in condition.values


def _column(
    dimension: str, cells: Cells, hours: NDArray[np.int64], query: Query
) -> tuple[NDArray[np.int64], list[str] | None]:
    """One grouping column: a code per cell, and for time the codes' labels (hours that
    share a label, a day's or a week's, share a code)."""
    if not dimension.startswith("time:"):
        return cells.key(COLUMNS[dimension]), None
    distinct, code = np.unique(hours, return_inverse=True)
    names = [time_label(dimension, hour, query.time_zone) for hour in distinct.tolist()]
    buckets = {name: index for index, name in enumerate(dict.fromkeys(names))}
    bucket = np.array([buckets[name] for name in names], dtype=np.int64)
    return bucket[code], list(buckets)


def _labels(
    query: Query,
    reader: CubeReader,
    columns: list[tuple[NDArray[np.int64], list[str] | None]],
    first: NDArray[np.int64],
) -> list[tuple[str, ...]]:
    """Each group's labels, read from its first cell."""
    named: list[list[str]] = []
    for codes, names in columns:
        values = codes[first].tolist()
        if names is not None:
            named.append([names[value] for value in values])
        else:
            found = reader.names(sorted(set(values)))
            named.append([found.get(value, "?") for value in values])
    return list(zip(*named, strict=True)) if named else [() for _ in first.tolist()]
