"""What ``consentkit export`` writes: the aggregates, one row per cube cell, no sketches."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from ..analytics.sketch import union

EXPORTS = {
    "pageviews": (
        "SELECT site, hour, country, device, browser, os, page,"
        " pageviews + anonymous_pageviews AS pageviews, visitors"
        " FROM ck_pageviews ORDER BY site, hour, country, device, browser, os, page"
    ),
    "consent_stats": (
        "SELECT site, hour, country, device, browser, action, category, decisions, granted"
        " FROM ck_consent_stats ORDER BY site, hour, country, device, browser, action, category"
    ),
}


def hour_label(hour: int) -> str:
    """An epoch hour as ISO 8601 UTC, e.g. ``2026-11-24T13:00:00Z``."""
    return datetime.fromtimestamp(hour * 3600, UTC).strftime("%Y-%m-%dT%H:00:00Z")


def exported(names: Sequence[str], row: Sequence[Any]) -> dict[str, Any]:
    """One exported row: visitors as an estimate (never the sketch), the hour as a label."""
    record = dict(zip(names, row, strict=True))
    if "visitors" in record:
        record["visitors"] = union([record["visitors"]]).estimate()
    record["hour"] = hour_label(record["hour"])
    return record
