"""A parsed analytics query: plain data, checked, before any backend sees it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal
from zoneinfo import ZoneInfo

VISIT_DIMENSIONS = ("visit:country", "visit:device", "visit:browser", "visit:os", "event:page")
TIME_DIMENSIONS = ("time:hour", "time:day", "time:week", "time:month")
CONSENT_DIMENSIONS = ("consent:action", "consent:category")
DIMENSIONS = VISIT_DIMENSIONS + TIME_DIMENSIONS + CONSENT_DIMENSIONS
PAGEVIEW_METRICS = ("visitors", "pageviews", "percentage")
CONSENT_METRICS = ("decisions", "grant_rate")
METRICS = PAGEVIEW_METRICS + CONSENT_METRICS
# What consent statistics are kept by: no OS and no page (a decision is not a page view).
CONSENT_COMPATIBLE = (
    "visit:country",
    "visit:device",
    "visit:browser",
    *TIME_DIMENSIONS,
    *CONSENT_DIMENSIONS,
)
NAMED_RANGES = ("day", "7d", "30d", "month", "12mo", "all")


@dataclass(frozen=True, slots=True)
class Condition:
    op: Literal["is", "is_not", "contains"]
    dimension: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AllOf:
    filters: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    filters: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class Negation:
    filter: Filter


Filter = Condition | AllOf | AnyOf | Negation


def filter_dimensions(item: Filter) -> list[str]:
    """Every dimension a filter (and its nested filters) looks at."""
    if isinstance(item, Condition):
        return [item.dimension]
    if isinstance(item, Negation):
        return filter_dimensions(item.filter)
    return [d for f in item.filters for d in filter_dimensions(f)]


@dataclass(frozen=True, slots=True)
class Query:
    site_id: str
    metrics: tuple[str, ...]
    dimensions: tuple[str, ...]
    first_day: date  # inclusive, UTC
    last_day: date  # inclusive, UTC
    filters: AllOf
    order_by: tuple[tuple[str, Literal["asc", "desc"]], ...]
    limit: int
    offset: int
    time_zone: ZoneInfo | None = None  # None: UTC, and buckets are plain hour arithmetic

    @property
    def about_consent(self) -> bool:
        """True for consent analytics (decisions, grant rates) rather than page views."""
        return self.metrics[0] in CONSENT_METRICS
