"""The ``{results, meta, query}`` answer: labels, order, pagination.

Page-view rows come from ``execute.py`` with every metric computed (visitors as the union
of each group's sketches, never a sum); consent rows are sums from ``plan.py``'s SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .model import Query

_EPOCH = date(1970, 1, 1)


def _local_label(dimension: str, hour: int, zone: ZoneInfo) -> str:
    moment = datetime.fromtimestamp(hour * 3600, zone)
    if dimension == "time:hour":
        return moment.strftime("%Y-%m-%d %H:00:00")
    day = moment.date()
    if dimension == "time:week":
        day -= timedelta(days=day.weekday())
    text = day.isoformat()
    return text[:8] + "01" if dimension == "time:month" else text


def time_label(dimension: str, hour: int, zone: ZoneInfo | None) -> str:
    """The label of the time bucket an hour falls in (its day, week or month)."""
    if zone is not None:
        return _local_label(dimension, hour, zone)
    day = hour // 24
    if dimension == "time:hour":
        return _label(dimension, hour)
    if dimension == "time:week":
        return _label(dimension, (day + 3) // 7)
    return _label(dimension, day)


def _label(dimension: str, value: Any, zone: ZoneInfo | None = None) -> str:
    if zone is not None and dimension.startswith("time:"):
        return _local_label(dimension, value, zone)
    if dimension == "time:hour":
        day = _EPOCH + timedelta(days=value // 24)
        return f"{day.isoformat()} {value % 24:02d}:00:00"
    if dimension == "time:day":
        return (_EPOCH + timedelta(days=value)).isoformat()
    if dimension == "time:week":
        return (_EPOCH + timedelta(days=value * 7 - 3)).isoformat()
    if dimension == "time:month":  # its first day, as Plausible labels a month
        return (_EPOCH + timedelta(days=value)).isoformat()[:8] + "01"
    return str(value)


def time_labels(dimension: str, first_hour: int, end_hour: int, zone: ZoneInfo | None) -> list[str]:
    """Every bucket's label in the range, in order, whether anything was counted in it or
    not (Plausible's ``include.time_labels``)."""
    if dimension == "time:hour":
        hours: Iterable[int] = range(first_hour, end_hour)
    else:  # one hour a day, at noon (a day of 23 or 25 hours moves no noon to another day)
        hours = [first_hour, *range(first_hour + 12, end_hour, 24), end_hour - 1]
    return list(dict.fromkeys(time_label(dimension, hour, zone) for hour in hours))


def build_consent_response(
    query: Query,
    rows: Iterable[Sequence[Any]],
    *,
    meta: dict[str, Any],
    echo: dict[str, Any],
) -> dict[str, Any]:
    """Decisions and grant rates: plain sums, folded and ordered like page views."""
    width = len(query.dimensions)
    by_category = "consent:category" in query.dimensions
    groups: dict[tuple[str, ...], list[int]] = {}
    for row in rows:
        labels = tuple(_label(d, row[i], query.time_zone) for i, d in enumerate(query.dimensions))
        sums = [int(v or 0) for v in row[width : width + 3]]
        if query.dimensions and not any(sums):
            continue
        total = groups.setdefault(labels, [0, 0, 0])
        for index, value in enumerate(sums):
            total[index] += value
    if not query.dimensions and not groups:
        groups[()] = [0, 0, 0]
    table = []
    for labels, (decisions, offered, granted) in groups.items():
        values = {
            "decisions": offered if by_category else decisions,
            "grant_rate": round(100 * granted / offered, 1) if offered else 0.0,
        }
        table.append((labels, values))
    return _answer(query, table, meta, echo)


def build_response(
    query: Query,
    table: list[tuple[tuple[str, ...], dict[str, Any]]],
    *,
    meta: dict[str, Any],
    echo: dict[str, Any],
) -> dict[str, Any]:
    """Page views: rows with their metrics computed (see ``execute.py``)."""
    return _answer(query, table, meta, echo)


def _answer(
    query: Query,
    table: list[tuple[tuple[str, ...], dict[str, Any]]],
    meta: dict[str, Any],
    echo: dict[str, Any],
) -> dict[str, Any]:
    table = _ordered(query, table)
    page = table[query.offset : query.offset + query.limit]
    return {
        "results": [_row(query, labels, values) for labels, values in page],
        "meta": {**meta, "total_rows": len(table)},
        "query": echo,
    }


def _row(query: Query, labels: tuple[str, ...], values: dict[str, Any]) -> dict[str, Any]:
    row = {"dimensions": list(labels), "metrics": [values[m] for m in query.metrics]}
    if "comparison" in values:
        row["comparison"] = values["comparison"]
    return row


def _ordered(
    query: Query, table: list[tuple[tuple[str, ...], dict[str, Any]]]
) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    # Stable sorts from the last key to the first give a multi-key order; the dimension
    # labels break ties so equal counts come back in the same order every time.
    table.sort(key=lambda row: row[0])
    for name, direction in reversed(query.order_by):
        if name in query.dimensions:
            index = query.dimensions.index(name)
            table.sort(key=lambda row: row[0][index], reverse=direction == "desc")
        else:
            table.sort(key=lambda row: row[1][name], reverse=direction == "desc")
    return table
