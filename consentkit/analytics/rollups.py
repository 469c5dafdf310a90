"""Daily roll-ups: a day's page views by one dimension at a time, for long-range queries.

Top countries over 30 days, or visitors per day over 90, read one small roll-up per day
and dimension instead of every hourly cell. A roll-up is ``Cells`` too, with one key column
set (the dimension's value) and the others zero, so it is encoded, merged and read like a
block; its visitors are the union of its cells' sketches, so the roll-ups and the cells
give the same answer.
"""

from __future__ import annotations

import numpy as np

from .cells import KEYS, Cells, group_rows, sums, take, united

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
    if kind == TOTAL:
        group = np.zeros(len(cells), dtype=np.int64)
        first = np.zeros(min(len(cells), 1), dtype=np.int64)
    else:
        group, first = group_rows([cells.key(kind)])
    n = len(first)
    keys = np.zeros((len(KEYS), n), dtype=np.int64)
    if kind != TOTAL:
        keys[KEYS.index(kind)] = cells.key(kind)[first]
    count, anonymous, engaged_ms, engagements, scroll = cells.measures
    measures = (sums(group, n, count), sums(group, n, anonymous), sums(group, n, engaged_ms),
                sums(group, n, engagements), sums(group, n, scroll))  # fmt: skip
    return Cells.of(keys, measures, united(group, n, cells))


def rollups(cells: Cells) -> dict[str, Cells]:
    """Every kind's roll-up of these cells (all of one day), page views only."""
    views = page_views(cells)
    return {kind: rollup(views, kind) for kind in KINDS}
