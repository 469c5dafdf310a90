"""``include.comparisons`` (``{"mode": "previous_period"}``, as in Plausible's API): each
row beside the same row of the period of the same length just before.

A time bucket is compared with the bucket in the same place of the previous period (the
third day with the third day). A time bucket that had visits before but none now is
answered as a row of zeros, so a chart can draw both periods whole.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from typing import Any

from ..errors import QueryError
from .model import Query
from .results import time_labels

Table = list[tuple[tuple[str, ...], dict[str, Any]]]
_EPOCH = date(1970, 1, 1)
_EARLIEST = date(1970, 1, 2)


def previous_period(query: Query) -> Query:
    """The same query over the period of the same length that ends where this one starts."""
    if query.hours is not None:
        first_hour, end_hour = query.hours
        start = 2 * first_hour - end_hour
        return dataclasses.replace(
            query,
            hours=(start, first_hour),
            first_day=_EPOCH + timedelta(hours=start),
            last_day=_EPOCH + timedelta(hours=first_hour - 1),
        )
    length = query.last_day - query.first_day + timedelta(days=1)
    first = query.first_day - length
    if first < _EARLIEST:
        raise QueryError("include.comparisons", "this range has no previous period")
    return dataclasses.replace(query, first_day=first, last_day=query.first_day - timedelta(1))


def compared(
    query: Query,
    table: Table,
    earlier: Table,
    ranges: tuple[tuple[int, int], tuple[int, int]],
) -> Table:
    """``table``'s rows, each with ``comparison``: the previous period's labels, metrics and
    change (in percent; a difference in points for ``percentage``)."""
    time = next((i for i, d in enumerate(query.dimensions) if d.startswith("time:")), None)
    now_to_then: dict[str, str] = {}
    if time is not None:
        dimension = query.dimensions[time]
        (first, end), (earlier_first, earlier_end) = ranges
        now = time_labels(dimension, first, end, query.time_zone)
        then = time_labels(dimension, earlier_first, earlier_end, query.time_zone)
        now_to_then = dict(zip(now, then, strict=False))
    then_to_now = {then: now for now, then in now_to_then.items()}

    def then_labels(labels: tuple[str, ...]) -> tuple[str, ...]:
        if time is None:
            return labels
        return (*labels[:time], now_to_then.get(labels[time], ""), *labels[time + 1 :])

    before = dict(earlier)
    rows = {labels: values for labels, values in table}
    if time is not None:  # buckets visited only before: zeros now, so both series are whole
        for labels in before:
            bucket = then_to_now.get(labels[time])
            if bucket is not None:
                now_labels = (*labels[:time], bucket, *labels[time + 1 :])
                rows.setdefault(now_labels, dict.fromkeys(query.metrics, 0))
    answer: Table = []
    for labels, values in rows.items():
        old_labels = then_labels(labels)
        old = before.get(old_labels, {})
        comparison = {
            "dimensions": list(old_labels),
            "metrics": [old.get(metric, 0) for metric in query.metrics],
            "change": [_change(m, values.get(m), old.get(m)) for m in query.metrics],
        }
        answer.append((labels, {**values, "comparison": comparison}))
    return answer


def _change(metric: str, now: Any, then: Any) -> float:
    before, after = float(then or 0), float(now or 0)
    if metric == "percentage":
        return round(after - before, 1)
    if not before:
        return 100 if after else 0
    return round(100 * (after - before) / before)
