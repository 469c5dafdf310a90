"""The dates and hours a query's ``date_range`` covers, and what ``time`` stands for."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..errors import QueryError
from .model import NAMED_RANGES


def natural_bucket(first: date, last: date, hours: tuple[int, int] | None) -> str:
    """What ``time`` stands for: hours for a day or less, days up to 40, else months."""
    if hours is not None and hours[1] - hours[0] <= 24:
        return "time:hour"
    days = (last - first).days + 1
    return "time:hour" if days <= 1 else "time:day" if days <= 40 else "time:month"


def date_range(
    value: Any, today: date, zone: ZoneInfo | None = None
) -> tuple[date, date, tuple[int, int] | None]:
    """First and last day; for ISO timestamps also the hours they cover (to the hour: the
    cube keeps nothing finer)."""
    if isinstance(value, str):
        first = named_range(value, today)
        if first is None:
            raise QueryError("date_range", f"{value!r} is not one of {', '.join(NAMED_RANGES)}")
        return first, today, None
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value):
        if any("T" in v or " " in v for v in value):
            return timestamp_range(value[0], value[1], zone)
        try:
            first, last = date.fromisoformat(value[0]), date.fromisoformat(value[1])
        except ValueError:
            raise QueryError("date_range", "dates must be YYYY-MM-DD") from None
        if first > last:
            raise QueryError("date_range", "the first date is after the last")
        return first, last, None
    raise QueryError(
        "date_range",
        f'must be one of {", ".join(NAMED_RANGES)}, ["YYYY-MM-DD", "YYYY-MM-DD"]'
        " or two ISO 8601 timestamps",
    )


def named_range(value: str, today: date) -> date | None:
    """The first day of a named range (which ends today); None for an unknown name."""
    months_back = {"month": 0, "6mo": 5, "12mo": 11}
    if value in months_back:
        months = today.year * 12 + today.month - 1 - months_back[value]
        return date(months // 12, months % 12 + 1, 1)
    days_back = {"day": 0, "7d": 6, "30d": 29}
    if value in days_back:
        return today - timedelta(days=days_back[value])
    if value == "year":
        return today.replace(month=1, day=1)
    if value == "all":
        return date(1970, 1, 1)
    return None


def timestamp_range(
    start: str, end: str, zone: ZoneInfo | None
) -> tuple[date, date, tuple[int, int]]:
    """Plausible's ``["2026-11-01T00:00:00+01:00", "2026-11-01T12:59:59+01:00"]``: the hours
    from the one holding the start to the one holding the end, both included. A timestamp
    without an offset is in the site's time zone."""
    moments = []
    for text in (start, end):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise QueryError(
                "date_range", f"{text[:40]!r} is not an ISO 8601 date or timestamp"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone or UTC)
        if not 1970 <= moment.year <= 9000:
            raise QueryError("date_range", "timestamps must fall between 1970 and 9000")
        moments.append(moment)
    first, last = moments
    if first > last:
        raise QueryError("date_range", "the first timestamp is after the last")
    first_hour = int(first.timestamp() // 3600)
    end_hour = int(last.timestamp() // 3600) + 1
    local = zone or UTC
    return (
        first.astimezone(local).date(),
        last.astimezone(local).date(),
        (first_hour, end_hour),
    )
