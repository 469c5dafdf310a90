"""Daily roll-ups: a day's page views by one dimension at a time, for long-range queries.

Top countries over 30 days, or visitors per day over 90, read one small roll-up per day
and dimension instead of every hourly cell. A roll-up is ``Cells`` too, with one key column
set (the dimension's value) and the others zero, so it is encoded, merged and read like a
block; its visitors are the union of its cells' sketches, so the roll-ups and the cells
give the same answer.
"""

from __future__ import annotations

import numpy as np

from .cells import KEYS, Cells, aggregate, take

TOTAL = "total"
# roll-up kind -> the query dimension it answers
KINDS = {
    TOTAL: None,
    "country": "visit:country",
    "device": "visit:device",
    "browser": "visit:browser",
    "os": "visit:os",
    "source": "visit:source",
    "medium": "visit:utm_medium",
    "campaign": "visit:utm_campaign",
    "page": "event:page",
}
_EVENT = KEYS.index("event")


def page_views(cells: Cells) -> Cells:
    """The cells of page views (not of other events)."""
    return take(cells, cells.keys[_EVENT] == 0)


def rollup(cells: Cells, kind: str) -> Cells:
    """One kind's roll-up of these page-view cells (all of one day): one cell per value."""
    keys = np.zeros_like(cells.keys)
    if kind != TOTAL:
        column = KEYS.index(kind)
        keys[column] = cells.keys[column]
    return aggregate(Cells.of(keys, cells.measures, cells.sketches))


def rollups(cells: Cells) -> dict[str, Cells]:
    """Every kind's roll-up of these cells (all of one day), page views only."""
    views = page_views(cells)
    return {kind: rollup(views, kind) for kind in KINDS}
