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
from .matching import matcher
from .model import (
    NEGATED,
    OPTIONAL_DIMENSIONS,
    AllOf,
    AnyOf,
    Filter,
    Negation,
    Query,
    filter_dimensions,
)
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
    "event:goal": "event",
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
    if query.time_zone is not None or "time:hour" in query.dimensions or query.hours:
        return None
    if _reads_events(query):  # roll-ups hold page views only
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
    for dimension in query.dimensions:
        if dimension in OPTIONAL_DIMENSIONS:  # a breakdown by source lists the visits with one
            keep &= cells.key(COLUMNS[dimension]) != 0
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
    happened = sums(group, n, cells.count) + sums(group, n, cells.anonymous)
    views = happened
    if _reads_events(query):  # page views are the cells of event 0, the rest are goals
        is_view = cells.key("event") == 0
        views = sums(group, n, cells.count * is_view) + sums(group, n, cells.anonymous * is_view)
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
            "events": int(happened[index]),
            "percentage": round(100 * int(unique[index]) / everyone, 1) if everyone else 0.0,
            "time_on_page": _mean(engaged[index] / 1000, reports[index]),
            "scroll_depth": _mean(scrolled[index], reports[index]),
        }))  # fmt: skip
    return table, meta


def _reads_events(query: Query) -> bool:
    """Whether custom events are read too: for ``events`` (page views and goals, as in
    Plausible's API) or a query about goals."""
    return "events" in query.metrics or query.about_goals


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
        kept = _goals if query.about_goals else _everything if _reads_events(query) else page_views
        for hour, cells in reader.blocks(query.site_id, first_hour, end_hour, keys=keys):
            parts.append(kept(cells))
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


def _goals(cells: Cells) -> Cells:
    return take(cells, cells.key("event") != 0)


def _everything(cells: Cells) -> Cells:
    return cells


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
        holds = matcher(item)
        allowed = [n for n, value in values[kind].items() if holds(value)]
        inside = np.isin(cells.key(kind), np.array(allowed, dtype=np.int64))
        return ~inside if item.op in NEGATED else inside

    return keeps(filters)


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
