"""A parsed analytics query: plain data, checked, before any backend sees it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal
from zoneinfo import ZoneInfo

VISIT_DIMENSIONS = ("visit:country", "visit:device", "visit:browser", "visit:os", "event:page")
# Kept only for some page views or events: where a visitor came in from, the goal reached.
SOURCE_DIMENSIONS = ("visit:source", "visit:utm_medium", "visit:utm_campaign")
GOAL = "event:goal"
OPTIONAL_DIMENSIONS = (*SOURCE_DIMENSIONS, GOAL)
TIME_DIMENSIONS = ("time:hour", "time:day", "time:week", "time:month")
TIME = "time"  # the natural bucket for the range, as Plausible's API picks it
CONSENT_DIMENSIONS = ("consent:action", "consent:category")
DIMENSIONS = VISIT_DIMENSIONS + OPTIONAL_DIMENSIONS + TIME_DIMENSIONS + CONSENT_DIMENSIONS
PAGEVIEW_METRICS = ("visitors", "pageviews", "percentage", "events")
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
NAMED_RANGES = ("day", "7d", "30d", "month", "6mo", "12mo", "year", "all")
INCLUDES = ("time_labels", "total_rows", "imports", "comparisons")

Op = Literal["is", "is_not", "contains", "contains_not", "matches", "matches_not"]
NEGATED = {"is_not": "is", "contains_not": "contains", "matches_not": "matches"}


@dataclass(frozen=True, slots=True)
class Condition:
    """One filter: ``values`` are matched as ``op`` says (for ``matches``, regular
    expressions); ``case_sensitive=False`` is Plausible's modifier."""

    op: Op
    dimension: str
    values: tuple[str, ...]
    case_sensitive: bool = True

    @property
    def positive(self) -> str:
        """The op this one negates (``is`` for ``is_not``), or the op itself."""
        return NEGATED.get(self.op, self.op)


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
    hours: tuple[int, int] | None = None  # ISO timestamps: first hour, first hour after
    include: frozenset[str] = frozenset()

    @property
    def about_goals(self) -> bool:
        """True when the query breaks down or filters by goal: it counts custom events."""
        return GOAL in self.dimensions or GOAL in filter_dimensions(self.filters)

    @property
    def about_consent(self) -> bool:
        """True for consent analytics (decisions, grant rates) rather than page views."""
        return self.metrics[0] in CONSENT_METRICS
