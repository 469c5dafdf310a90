"""Checks a query dict (the shape of Plausible's Stats API v2) and turns it into a ``Query``.

Every error names the field that is wrong, so the HTTP API can answer 400 with it.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

from ..errors import QueryError
from ..storable import UNSTORABLE
from .dates import date_range, natural_bucket
from .matching import MAX_PATTERN_LENGTH, compile_pattern
from .model import (
    CONSENT_COMPATIBLE,
    CONSENT_DIMENSIONS,
    CONSENT_METRICS,
    DIMENSIONS,
    INCLUDES,
    METRICS,
    NEGATED,
    TIME,
    AllOf,
    AnyOf,
    Condition,
    Filter,
    Negation,
    Op,
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
    "include",
}
OPS = ("is", "is_not", "contains", "contains_not", "matches", "matches_not")
_COUNTRY = re.compile(r"[A-Za-z]{2}")


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
    first, last, hours = date_range(raw.get("date_range"), today, time_zone)
    natural = natural_bucket(first, last, hours)
    dimensions = _names(
        raw.get("dimensions", []), "dimensions", (*DIMENSIONS, TIME), required=False
    )
    dimensions = tuple(natural if d == TIME else d for d in dimensions)
    filters = AllOf(tuple(_filters(raw.get("filters", []), "filters", 0)))
    if categories is not None:
        _check_categories(filters, "filters", frozenset(categories))
    order_by = _order_by(raw.get("order_by"), metrics, dimensions, natural)
    limit, offset = _pagination(raw.get("pagination"))
    _check_kind(metrics, dimensions, filters)
    include = _include(raw.get("include"), dimensions)
    if "comparisons" in include and any(m in CONSENT_METRICS for m in metrics):
        raise QueryError("include.comparisons", "is answered for page-view metrics only")
    return Query(
        site_id, metrics, dimensions, first, last, filters, order_by, limit, offset, time_zone,
        hours, include,
    )  # fmt: skip


def _include(value: Any, dimensions: tuple[str, ...]) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, dict):
        raise QueryError("include", f"must be an object with any of {', '.join(INCLUDES)}")
    for name, flag in value.items():
        if name not in INCLUDES:
            raise QueryError(f"include.{name}", f"is not one of {', '.join(INCLUDES)}")
        if name == "comparisons":
            if flag is not None and flag != {"mode": "previous_period"}:
                raise QueryError(
                    "include.comparisons", 'must be {"mode": "previous_period"} or null'
                )
        elif not isinstance(flag, bool):
            raise QueryError(f"include.{name}", "must be true or false")
    wanted = frozenset(name for name, flag in value.items() if flag)
    if "time_labels" in wanted and not any(d.startswith("time:") for d in dimensions):
        raise QueryError("include.time_labels", "needs a time dimension")
    return wanted


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
    if all(consent) and _uses_patterns(filters):
        raise QueryError(
            "filters", "consent metrics take is, is_not, contains and contains_not, case-sensitive"
        )


def _uses_patterns(item: Filter) -> bool:
    if isinstance(item, AllOf | AnyOf):
        return any(_uses_patterns(inner) for inner in item.filters)
    if isinstance(item, Negation):
        return _uses_patterns(item.filter)
    return item.positive == "matches" or not item.case_sensitive


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
    if op in OPS and len(value) in (3, 4):
        return _condition(cast(Op, op), value, field)
    raise QueryError(
        f"{field}[0]",
        f"{op!r} is not a filter ({', '.join(OPS)}, and, or, not) of this shape",
    )


def _condition(op: Op, value: list[Any], field: str) -> Condition:
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
    case_sensitive = _modifiers(value[3] if len(value) == 4 else {}, f"{field}[3]")
    for index, text in enumerate(values):
        _check_text(text, f"{field}[2][{index}]")
        if NEGATED.get(op, op) == "matches":
            if len(text) > MAX_PATTERN_LENGTH:
                raise QueryError(
                    f"{field}[2][{index}]",
                    f"a pattern may be at most {MAX_PATTERN_LENGTH} characters long",
                )
            try:
                compile_pattern(text, case_sensitive=case_sensitive)
            except ValueError as error:
                raise QueryError(f"{field}[2][{index}]", str(error)) from None
    return Condition(op, dimension, _normalised(dimension, op, values, field), case_sensitive)


def _modifiers(value: Any, field: str) -> bool:
    """Plausible's filter modifiers: ``{"case_sensitive": false}`` is the one there is."""
    if not isinstance(value, dict) or set(value) - {"case_sensitive"}:
        raise QueryError(field, 'must be {"case_sensitive": true | false}')
    flag = value.get("case_sensitive", True)
    if not isinstance(flag, bool):
        raise QueryError(f"{field}.case_sensitive", "must be true or false")
    return flag


def _normalised(dimension: str, op: str, values: list[str], field: str) -> tuple[str, ...]:
    """Values as the cube keeps them: device types in lower case (Plausible writes
    ``"Mobile"``), countries as ISO 3166 alpha-2 codes in capitals (``"USA"`` is refused,
    rather than finding nothing)."""
    if dimension == "visit:device":
        return tuple(v.lower() for v in values) if op in ("is", "is_not") else tuple(values)
    if dimension == "visit:country" and op in ("is", "is_not"):
        for index, text in enumerate(values):
            if not _COUNTRY.fullmatch(text):
                raise QueryError(
                    f"{field}[2][{index}]",
                    f"{text[:40]!r} is not an ISO 3166 alpha-2 country code such as 'US'",
                )
        return tuple(v.upper() for v in values)
    return tuple(values)


def _check_text(value: str, field: str) -> None:
    # Nothing stored holds one (records.storable_text), and PostgreSQL cannot even be asked
    # about a NUL: such a value is the client's error, on every store alike.
    if UNSTORABLE.search(value):
        raise QueryError(field, "must not contain control characters or unpaired surrogates")


def _order_by(
    value: Any, metrics: tuple[str, ...], dimensions: tuple[str, ...], natural: str
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
        if isinstance(item, list) and item and item[0] == TIME:
            item = [natural, *item[1:]]
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
