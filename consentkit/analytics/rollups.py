"""Daily roll-ups: a day's page views by one dimension at a time, and by whole segments,
for long-range queries.

Top countries over 30 days, or visitors per day over 90, read one small roll-up per day
and dimension instead of every hourly cell. The ``segment`` roll-up keeps every visit
dimension together (country, device, browser, OS, source, medium, campaign), without the
page: it answers a query that groups or filters by several of them (devices of one
country: the dashboard after a click) from one roll-up a day. A roll-up is ``Cells`` too,
with its dimensions' key columns set and the others zero, so it is encoded, merged and
read like a block; its visitors are the union of its cells' sketches, so the roll-ups and the cells
give the same answer.
"""

from __future__ import annotations

import numpy as np

from .cells import KEYS, Cells, group_rows, sums, take, united

TOTAL = "total"
SEGMENT = "segment"
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
    SEGMENT: None,  # several visit dimensions at once: see SEGMENT_KEYS
}
# the key columns a segment roll-up keeps (the page and the event are left out)
SEGMENT_KEYS = ("country", "device", "browser", "os", "source", "medium", "campaign")
_EVENT = KEYS.index("event")


def page_views(cells: Cells) -> Cells:
    """The cells of page views (not of other events)."""
    return take(cells, cells.keys[_EVENT] == 0)


def rollup(cells: Cells, kind: str) -> Cells:
    """One kind's roll-up of these page-view cells (all of one day): one cell per value."""
    if kind == TOTAL:
        group = np.zeros(len(cells), dtype=np.int64)
        first = np.zeros(min(len(cells), 1), dtype=np.int64)
        kept: tuple[str, ...] = ()
    else:
        kept = SEGMENT_KEYS if kind == SEGMENT else (kind,)
        group, first = group_rows([cells.key(name) for name in kept])
    n = len(first)
    keys = np.zeros((len(KEYS), n), dtype=np.int64)
    for name in kept:
        keys[KEYS.index(name)] = cells.key(name)[first]
    count, anonymous, engaged_ms, engagements, scroll = cells.measures
    measures = (sums(group, n, count), sums(group, n, anonymous), sums(group, n, engaged_ms),
                sums(group, n, engagements), sums(group, n, scroll))  # fmt: skip
    return Cells.of(keys, measures, united(group, n, cells))


def rollups(cells: Cells) -> dict[str, Cells]:
    """Every kind's roll-up of these cells (all of one day), page views only."""
    views = page_views(cells)
    return {kind: rollup(views, kind) for kind in KINDS}
