"""Plans a parsed consent query into one parameterised SQL statement over the consent
statistics (page-view queries are answered from the cube's cells: ``execute.py``).

Column names come from a fixed table here; every value the query carries is a bound
parameter, so nothing in a query reaches SQL as text. Time buckets finer than a month are
integer arithmetic on the ``hour`` column (hours since the epoch, UTC); months are
folded from days afterwards (see ``results.py``), which keeps the SQL portable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .model import AllOf, AnyOf, Condition, Filter, Negation, Query

COLUMNS = {
    "visit:country": "country",
    "visit:device": "device",
    "visit:browser": "browser",
    "visit:os": "os",
    "event:page": "page",
    "consent:action": "action",
    "consent:category": "category",
}
# In ck_consent_stats, category "*" rows count decisions; the others count, per category
# offered, how many decisions there were and how many granted it.
_CONSENT_SUMS = (
    "SUM(CASE WHEN category = '*' THEN decisions ELSE 0 END)",
    "SUM(CASE WHEN category <> '*' THEN decisions ELSE 0 END)",
    "SUM(granted)",
)
# SQL expressions over an hour (hours since the epoch); all operands are non-negative integers.
TIME_EXPRESSIONS = {
    "time:hour": "{hour}",
    "time:day": "{hour} / 24",
    "time:week": "({hour} / 24 + 3) / 7",  # weeks start on Monday; 1970-01-01 was a Thursday
    "time:month": "{hour} / 24",  # folded into months after the query
}
_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class Dialect:
    """The few places where SQLite and PostgreSQL spell things differently."""

    placeholder: str  # "?" or "%s"
    contains: str  # SQL true when {column} contains the parameter, case-sensitively


@dataclass(frozen=True, slots=True)
class Plan:
    sql: str
    params: tuple[object, ...]
    dimensions: tuple[str, ...]
    first_hour: int  # the range, in hours since the epoch (for the bot count in meta)
    end_hour: int


def _epoch_hour(day: date, zone: ZoneInfo | None = None) -> int:
    """The first hour of ``day`` (midnight in ``zone``), in hours since the epoch.

    Worked out from the day number and the zone's offset rather than through
    ``datetime.timestamp()``, which overflows at the ends of the calendar (years 1 and
    9999), where a query for "everything" may well put its range."""
    offset = 0
    if zone is not None:
        utc_offset = datetime.combine(day, time(0), zone).utcoffset()
        offset = int(utc_offset.total_seconds()) if utc_offset else 0
    return ((day - _EPOCH).days * 86400 - offset) // 3600


def _end_hour(last_day: date, zone: ZoneInfo | None = None) -> int:
    """The first hour after ``last_day``: the next midnight (``date.max`` has none)."""
    if last_day == date.max:
        return _epoch_hour(last_day, zone) + 24
    return _epoch_hour(last_day + timedelta(days=1), zone)


def hour_range(query: Query) -> tuple[int, int]:
    """The query's range as hours since the epoch: its first, and the first after it."""
    if query.hours is not None:
        return query.hours
    return _epoch_hour(query.first_day, query.time_zone), _end_hour(query.last_day, query.time_zone)


def plan_query(query: Query, dialect: Dialect) -> Plan:
    """The SQL of a consent query (decisions, grant rates)."""
    zone = query.time_zone
    first, end = hour_range(query)
    table, hour, sums = "ck_consent_stats", "hour", list(_CONSENT_SUMS)
    params: list[object] = [query.site_id, first, end]
    where = ["site = {p}", "hour >= {p}", "hour < {p}"]
    if "consent:category" in query.dimensions:
        where.append("category <> '*'")
    if query.filters.filters:
        where.append(_condition_sql(query.filters, params, dialect, COLUMNS))
    # In a site time zone, days start at local midnight (and DST moves it): group by the hour
    # and let results.py label each hour in local time.
    times = {
        name: (expr if zone is None else "{hour}").replace("{hour}", hour)
        for name, expr in TIME_EXPRESSIONS.items()
    }
    group = [times[d] if d.startswith("time:") else COLUMNS[d] for d in query.dimensions]
    select = [*(f"{expr} AS d{i}" for i, expr in enumerate(group)), *sums]
    sql = f"SELECT {', '.join(select)} FROM {table} WHERE {' AND '.join(where)}"
    return _finish(sql, group, params, query, dialect, first, end)


def _finish(
    sql: str,
    group: list[str],
    params: list[object],
    query: Query,
    dialect: Dialect,
    first: int,
    end: int,
) -> Plan:
    if group:
        sql += " GROUP BY " + ", ".join(f"d{i}" for i in range(len(group)))
    return Plan(
        sql.replace("{p}", dialect.placeholder), tuple(params), query.dimensions, first, end
    )


def _condition_sql(
    item: Filter, params: list[object], dialect: Dialect, columns: dict[str, str]
) -> str:
    if isinstance(item, AllOf | AnyOf):
        joiner = " AND " if isinstance(item, AllOf) else " OR "
        parts = (_condition_sql(f, params, dialect, columns) for f in item.filters)
        return "(" + joiner.join(parts) + ")"
    if isinstance(item, Negation):
        return "(NOT " + _condition_sql(item.filter, params, dialect, columns) + ")"
    return _leaf_sql(item, params, dialect, columns)


def _leaf_sql(
    item: Condition, params: list[object], dialect: Dialect, columns: dict[str, str]
) -> str:
    column = columns[item.dimension]
    params.extend(item.values)
    if item.positive == "contains":  # parse.py allows no patterns here
        one = dialect.contains.replace("{column}", column)
        anyone = "(" + " OR ".join([one] * len(item.values)) + ")"
        return anyone if item.op == "contains" else f"(NOT {anyone})"
    marks = ", ".join(["{p}"] * len(item.values))
    return f"{column} {'IN' if item.op == 'is' else 'NOT IN'} ({marks})"
