"""Checks a query dict (the shape of Plausible's Stats API v2) and turns it into a ``Query``.

Every error names the field that is wrong, so the HTTP API can answer 400 with it.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

from ..errors import QueryError
from ..storable import UNSTORABLE
from .model import (
    CONSENT_COMPATIBLE,
    CONSENT_DIMENSIONS,
    CONSENT_METRICS,
    DIMENSIONS,
    METRICS,
    NAMED_RANGES,
    AllOf,
    AnyOf,
    Condition,
    Filter,
    Negation,
    Query,
    filter_dimensions,
)

MAX_LIMIT = 10_000
MAX_FILTER_DEPTH = 8
MAX_VALUE_LENGTH = 1024
_KNOWN_FIELDS = {
    "site_id",
    "metrics",
    "date_range",
    "dimensions",
    "filters",
    "order_by",
    "pagination",
}


def parse_query(
    raw: object,
    *,
    today: date,
    default_site: str = "default",
    time_zone: ZoneInfo | None = None,
    categories: Collection[str] | None = None,
) -> Query:
    """The checked ``Query``; ``categories`` (the site's, when known) are the only values a
    ``consent:category`` filter may name."""
    if not isinstance(raw, dict):
        raise QueryError("query", "must be a JSON object")
    unknown = sorted(set(raw) - _KNOWN_FIELDS)
    if unknown:
        raise QueryError(unknown[0], "is not a query field")
    site_id = raw.get("site_id", default_site)
    if not isinstance(site_id, str) or not site_id:
        raise QueryError("site_id", "must be a non-empty string")
    _check_text(site_id, "site_id")
    metrics = _names(raw.get("metrics"), "metrics", METRICS, required=True)
    dimensions = _names(raw.get("dimensions", []), "dimensions", DIMENSIONS, required=False)
    first, last = _date_range(raw.get("date_range"), today)
    filters = AllOf(tuple(_filters(raw.get("filters", []), "filters", 0)))
    if categories is not None:
        _check_categories(filters, "filters", frozenset(categories))
    order_by = _order_by(raw.get("order_by"), metrics, dimensions)
    limit, offset = _pagination(raw.get("pagination"))
    _check_kind(metrics, dimensions, filters)
    return Query(
        site_id, metrics, dimensions, first, last, filters, order_by, limit, offset, time_zone
    )


def _check_kind(metrics: tuple[str, ...], dimensions: tuple[str, ...], filters: AllOf) -> None:
    """Page-view and consent statistics live apart: a query asks about one or the other."""
    consent = [m in CONSENT_METRICS for m in metrics]
    if any(consent) and not all(consent):
        raise QueryError("metrics", "mix page-view metrics and consent metrics in two queries")
    used = [*dimensions, *filter_dimensions(filters)]
    for index, dimension in enumerate(used):
        field = f"dimensions[{index}]" if index < len(dimensions) else "filters"
        if all(consent) and dimension not in CONSENT_COMPATIBLE:
            raise QueryError(field, f"{dimension!r} is not kept for consent decisions")
        if not any(consent) and dimension in CONSENT_DIMENSIONS:
            raise QueryError(field, f"{dimension!r} needs the metrics decisions or grant_rate")


def _check_categories(item: Filter, field: str, known: frozenset[str]) -> None:
    """A ``consent:category`` filter names categories of the site (a typo finds nothing)."""
    if isinstance(item, AllOf | AnyOf):
        for index, inner in enumerate(item.filters):
            _check_categories(
                inner, f"{field}[{index}]" if field == "filters" else f"{field}[1][{index}]", known
            )
    elif isinstance(item, Negation):
        _check_categories(item.filter, f"{field}[1]", known)
    elif item.dimension == "consent:category":
        unknown = [value for value in item.values if value not in known]
        if unknown:
            raise QueryError(
                f"{field}[2]",
                f"{unknown[0]!r} is not a category of this site ({', '.join(sorted(known))})",
            )


def _names(value: Any, field: str, allowed: tuple[str, ...], *, required: bool) -> tuple[str, ...]:
    if not isinstance(value, list) or (required and not value):
        raise QueryError(field, "must be a non-empty list" if required else "must be a list")
    for index, name in enumerate(value):
        if name not in allowed:
            raise QueryError(f"{field}[{index}]", f"{name!r} is not one of {', '.join(allowed)}")
    if len(set(value)) != len(value):
        raise QueryError(field, "lists a name twice")
    return tuple(value)


def _date_range(value: Any, today: date) -> tuple[date, date]:
    if isinstance(value, str):
        if value == "day":
            return today, today
        if value == "7d":
            return today - timedelta(days=6), today
        if value == "30d":
            return today - timedelta(days=29), today
        if value == "month":
            return today.replace(day=1), today
        if value == "12mo":
            months = today.year * 12 + today.month - 1 - 11
            return date(months // 12, months % 12 + 1, 1), today
        if value == "all":
            return date(1970, 1, 1), today
        raise QueryError("date_range", f"{value!r} is not one of {', '.join(NAMED_RANGES)}")
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value):
        try:
            first, last = date.fromisoformat(value[0]), date.fromisoformat(value[1])
        except ValueError:
            raise QueryError("date_range", "dates must be YYYY-MM-DD") from None
        if first > last:
            raise QueryError("date_range", "the first date is after the last")
        return first, last
    raise QueryError(
        "date_range",
        f'must be one of {", ".join(NAMED_RANGES)} or ["YYYY-MM-DD", "YYYY-MM-DD"]',
    )


def _filters(value: Any, field: str, depth: int) -> list[Filter]:
    if not isinstance(value, list):
        raise QueryError(field, "must be a list of filters")
    return [_filter(item, f"{field}[{i}]", depth) for i, item in enumerate(value)]


def _filter(value: Any, field: str, depth: int) -> Filter:
    if depth > MAX_FILTER_DEPTH:
        raise QueryError(field, f"filters nest deeper than {MAX_FILTER_DEPTH}")
    if not isinstance(value, list) or not value:
        raise QueryError(field, 'must be a list like ["is", "visit:country", ["DE"]]')
    op = value[0]
    if op in ("and", "or") and len(value) == 2:
        items = tuple(_filters(value[1], f"{field}[1]", depth + 1))
        if not items:
            raise QueryError(f"{field}[1]", f"{op!r} needs at least one filter")
        return AllOf(items) if op == "and" else AnyOf(items)
    if op == "not" and len(value) == 2:
        return Negation(_filter(value[1], f"{field}[1]", depth + 1))
    if op in ("is", "is_not", "contains") and len(value) == 3:
        dimension, values = value[1], value[2]
        if dimension not in DIMENSIONS or dimension.startswith("time:"):
            raise QueryError(f"{field}[1]", f"{dimension!r} is not a filterable dimension")
        if (
            not isinstance(values, list)
            or not values
            or not all(isinstance(v, str) and len(v) <= MAX_VALUE_LENGTH for v in values)
        ):
            raise QueryError(
                f"{field}[2]",
                f"must be a non-empty list of strings of at most {MAX_VALUE_LENGTH} characters",
            )
        for index, text in enumerate(values):
            _check_text(text, f"{field}[2][{index}]")
        return Condition(cast(Literal["is", "is_not", "contains"], op), dimension, tuple(values))
    raise QueryError(
        f"{field}[0]", f"{op!r} is not a filter (is, is_not, contains, and, or, not) of this shape"
    )


def _check_text(value: str, field: str) -> None:
    # Nothing stored holds one (records.storable_text), and PostgreSQL cannot even be asked
    # about a NUL: such a value is the client's error, on every store alike.
    if UNSTORABLE.search(value):
        raise QueryError(field, "must not contain control characters or unpaired surrogates")


def _order_by(
    value: Any, metrics: tuple[str, ...], dimensions: tuple[str, ...]
) -> tuple[tuple[str, Literal["asc", "desc"]], ...]:
    if value is None:
        time = [d for d in dimensions if d.startswith("time:")]
        if time:
            return ((time[0], "asc"),)
        return ((metrics[0], "desc"),)
    if not isinstance(value, list):
        raise QueryError("order_by", 'must be a list of [name, "asc" | "desc"]')
    result: list[tuple[str, Literal["asc", "desc"]]] = []
    for index, item in enumerate(value):
        if (
            not isinstance(item, list)
            or len(item) != 2
            or item[1] not in ("asc", "desc")
            or item[0] not in metrics + dimensions
        ):
            raise QueryError(
                f"order_by[{index}]",
                'must be [name, "asc" | "desc"] with a name from metrics or dimensions',
            )
        result.append((item[0], item[1]))
    return tuple(result)


def _pagination(value: Any) -> tuple[int, int]:
    if value is None:
        return MAX_LIMIT, 0
    if not isinstance(value, dict) or set(value) - {"limit", "offset"}:
        raise QueryError("pagination", 'must be {"limit": n, "offset": n}')
    limit, offset = value.get("limit", MAX_LIMIT), value.get("offset", 0)
    if type(limit) is not int or not 1 <= limit <= MAX_LIMIT:
        raise QueryError("pagination.limit", f"must be an integer from 1 to {MAX_LIMIT}")
    if type(offset) is not int or offset < 0:
        raise QueryError("pagination.offset", "must be a non-negative integer")
    return limit, offset
