"""Plans a parsed ``Query`` into one parameterised SQL statement over the analytics cube.

Column names come from a fixed table here; every value the query carries is a bound
parameter, so nothing in a query reaches SQL as text. Time buckets finer than a month are
integer arithmetic on the cube's ``hour`` column (hours since the epoch, UTC); months are
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
# SQL expressions over the hour column; all operands are non-negative integers.
TIME_EXPRESSIONS = {
    "time:hour": "hour",
    "time:day": "hour / 24",
    "time:week": "(hour / 24 + 3) / 7",  # weeks start on Monday; 1970-01-01 was a Thursday
    "time:month": "hour / 24",  # folded into months after the query
}


@dataclass(frozen=True, slots=True)
class Dialect:
    """The few places where SQLite and PostgreSQL spell things differently."""

    placeholder: str  # "?" or "%s"
    contains: str  # SQL true when {column} contains the parameter, case-sensitively
    union: str  # aggregate that unions visitor sketches


@dataclass(frozen=True, slots=True)
class Plan:
    sql: str
    params: tuple[object, ...]
    dimensions: tuple[str, ...]


def _epoch_hour(day: date, zone: ZoneInfo | None = None) -> int:
    """The first hour of ``day`` (midnight in ``zone``), in hours since the epoch."""
    if zone is None:
        return (day - date(1970, 1, 1)).days * 24
    midnight = datetime.combine(day, time(0), zone)
    return int(midnight.timestamp() // 3600)


def plan_query(query: Query, dialect: Dialect) -> Plan:
    zone = query.time_zone
    first = _epoch_hour(query.first_day, zone)
    end = _epoch_hour(query.last_day + timedelta(days=1), zone)
    params: list[object] = [query.site_id, first, end]
    where = ["site = {p}", "hour >= {p}", "hour < {p}"]
    if query.filters.filters:
        where.append(_condition_sql(query.filters, params, dialect))
    # In a site time zone, days start at local midnight (and DST moves it): group by the hour
    # and let results.py label each hour in local time.
    times = TIME_EXPRESSIONS if zone is None else dict.fromkeys(TIME_EXPRESSIONS, "hour")
    group = [times[d] if d.startswith("time:") else COLUMNS[d] for d in query.dimensions]
    if query.about_consent:
        table, sums = "ck_consent_stats", list(_CONSENT_SUMS)
        if "consent:category" in query.dimensions:
            where.append("category <> '*'")
    else:
        table = "ck_pageviews"
        sums = ["SUM(pageviews + anonymous_pageviews)", f"{dialect.union}(visitors)"]
    select = [*(f"{expr} AS d{i}" for i, expr in enumerate(group)), *sums]
    sql = f"SELECT {', '.join(select)} FROM {table} WHERE {' AND '.join(where)}"
    if group:
        sql += " GROUP BY " + ", ".join(f"d{i}" for i in range(len(group)))
    return Plan(sql.replace("{p}", dialect.placeholder), tuple(params), query.dimensions)


def _condition_sql(item: Filter, params: list[object], dialect: Dialect) -> str:
    if isinstance(item, AllOf):
        return "(" + " AND ".join(_condition_sql(f, params, dialect) for f in item.filters) + ")"
    if isinstance(item, AnyOf):
        return "(" + " OR ".join(_condition_sql(f, params, dialect) for f in item.filters) + ")"
    if isinstance(item, Negation):
        return "(NOT " + _condition_sql(item.filter, params, dialect) + ")"
    return _leaf_sql(item, params, dialect)


def _leaf_sql(item: Condition, params: list[object], dialect: Dialect) -> str:
    column = COLUMNS[item.dimension]
    params.extend(item.values)
    if item.op == "contains":
        one = dialect.contains.replace("{column}", column)
        return "(" + " OR ".join([one] * len(item.values)) + ")"
    marks = ", ".join(["{p}"] * len(item.values))
    return f"{column} {'IN' if item.op == 'is' else 'NOT IN'} ({marks})"
