"""Answering a query: parse it, read what the store holds (cube cells for page views,
SQL rows for consent statistics), shape the answer.

``store.query(...)``, ``POST /consentkit/api/query`` and ``consentkit query`` all end here.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import ConfigurationError, QueryError
from .comparison import compared, previous_period
from .execute import CubeReader, page_view_table
from .model import Query
from .parse import parse_query
from .plan import Dialect, Plan, hour_range, plan_query
from .results import build_consent_response, build_response, time_labels

MAX_TIME_LABELS = 100_000


class QuerySource(Protocol):
    """What a store gives a query: the cube's cells (from one snapshot), rows for a consent
    query's plan, and the crawlers' page views counted apart."""

    dialect: Dialect
    clock: Callable[[], float]

    def cube_reader(self) -> AbstractContextManager[CubeReader]: ...

    def fetch(self, plan: Plan) -> Iterable[Sequence[Any]]: ...

    def bot_pageviews(self, site: str, first_hour: int, end_hour: int) -> int: ...


def site_zone(name: str) -> ZoneInfo | None:
    """The ZoneInfo for a site time zone name; None for UTC (plain hour arithmetic)."""
    if name in ("UTC", "Etc/UTC"):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"time_zone {name!r} is not a time zone name such as 'Europe/Berlin' or 'UTC'"
        ) from None


def answer_query(
    source: QuerySource,
    query: dict[str, Any],
    *,
    k_anonymity: int | None = None,
    time_zone: str = "UTC",
    categories: Collection[str] | None = None,
) -> dict[str, Any]:
    """The answer to an analytics query (DESIGN section 6); ``QueryError`` when it is bad."""
    zone = site_zone(time_zone)
    today = datetime.fromtimestamp(source.clock(), zone or UTC).date()
    parsed = parse_query(query, today=today, time_zone=zone, categories=categories)
    first_hour, end_hour = hour_range(parsed)
    meta = {
        "time_zone": time_zone,
        "date_range": [parsed.first_day.isoformat(), parsed.last_day.isoformat()],
        "bots_filtered": source.bot_pageviews(parsed.site_id, first_hour, end_hour),
    }
    echo = {
        "site_id": parsed.site_id,
        "metrics": list(parsed.metrics),
        "dimensions": list(parsed.dimensions),
        "date_range": meta["date_range"],
        "filters": query.get("filters", []),
        "order_by": [list(o) for o in parsed.order_by],
        "pagination": {"limit": parsed.limit, "offset": parsed.offset},
    }
    if "include" in query:
        echo["include"] = query["include"]
    meta.update(_included(parsed, first_hour, end_hour))
    if parsed.about_consent:
        rows = source.fetch(plan_query(parsed, source.dialect))
        return build_consent_response(parsed, rows, meta=meta, echo=echo)
    with source.cube_reader() as reader:
        table, more = page_view_table(parsed, reader, first_hour, end_hour, k_anonymity=k_anonymity)
        if "comparisons" in parsed.include:
            earlier = previous_period(parsed)
            earlier_range = hour_range(earlier)
            before, _ = page_view_table(earlier, reader, *earlier_range, k_anonymity=k_anonymity)
            table = compared(parsed, table, before, ((first_hour, end_hour), earlier_range))
            more["comparison_date_range"] = [
                earlier.first_day.isoformat(),
                earlier.last_day.isoformat(),
            ]
    return build_response(parsed, table, meta={**meta, **more}, echo=echo)


def _included(query: Query, first_hour: int, end_hour: int) -> dict[str, Any]:
    """What ``include`` asks to add to ``meta`` (``total_rows`` is always there)."""
    added: dict[str, Any] = {}
    if "imports" in query.include:
        added["imports_included"] = False  # nothing is ever imported from another tool
    if "time_labels" in query.include:
        dimension = next(d for d in query.dimensions if d.startswith("time:"))
        step = 1 if dimension == "time:hour" else 24
        if (end_hour - first_hour) // step > MAX_TIME_LABELS:
            raise QueryError("include.time_labels", "the range has too many time buckets to list")
        added["time_labels"] = time_labels(dimension, first_hour, end_hour, query.time_zone)
    return added
