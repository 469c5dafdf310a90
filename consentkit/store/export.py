"""What ``consentkit export`` writes: the aggregates, one row per cell, visitors estimated
(never a sketch), values by name (never their numbers)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from itertools import groupby
from typing import Any

import numpy as np

from ..analytics import blocks as cube_blocks
from ..analytics import cells as cube_cells
from ..analytics.rollups import page_views
from .cube import CubeSnapshot

BLOCKS_IN_ORDER = "SELECT site, hour, cells FROM ck_blocks ORDER BY site, hour"
EXPORTS = {
    "consent_stats": (
        "SELECT site, hour, country, device, browser, action, category, decisions, granted"
        " FROM ck_consent_stats ORDER BY site, hour, country, device, browser, action, category"
    ),
}
_COLUMNS = ("country", "device", "browser", "os", "page")


def hour_label(hour: int) -> str:
    """An epoch hour as ISO 8601 UTC, e.g. ``2026-11-24T13:00:00Z``."""
    return datetime.fromtimestamp(hour * 3600, UTC).strftime("%Y-%m-%dT%H:00:00Z")


def exported(names: Sequence[str], row: Sequence[Any]) -> dict[str, Any]:
    """One exported row of a table, its hour as a label."""
    record = dict(zip(names, row, strict=True))
    record["hour"] = hour_label(record["hour"])
    return record


def exported_pageviews(
    blocks: Iterable[Sequence[Any]], snapshot: CubeSnapshot
) -> Iterator[dict[str, Any]]:
    """One row per cube cell of page views, from blocks read in (site, hour) order."""
    for (site, hour), rows in groupby(blocks, key=lambda row: (row[0], int(row[1]))):
        cells = page_views(cube_cells.merge([cube_blocks.decode(bytes(r[2])) for r in rows]))
        n = len(cells)
        visitors = cube_cells.visitors(np.arange(n, dtype=np.int64), n, cells)
        names = snapshot.names(sorted(set(cells.keys.ravel().tolist())))
        columns = [cells.key(name).tolist() for name in _COLUMNS]
        views = (cells.count + cells.anonymous).tolist()
        for index in range(n):
            yield {
                "site": site,
                "hour": hour_label(hour),
                **{name: names.get(columns[c][index], "") for c, name in enumerate(_COLUMNS)},
                "pageviews": views[index],
                "visitors": int(visitors[index]),
            }
