"""What one flush hands to a store: page views aggregated into cube rows and roll-ups."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

# Who saw a page, as the cube keeps it: (country, device, browser, os). Nothing here identifies
# a person. A plain tuple: one is built per counted page view.
Segment = tuple[str, str, str, str]
SEGMENT_FIELDS = ("country", "device", "browser", "os")

Rollup = tuple[int, str, str, int, bytes]  # day, kind, value, page views, visitors sketch


@dataclass(frozen=True, slots=True)
class CubeBatch:
    """What one flush adds to the analytics cube: rows keyed by (hour, segment, page).

    Row ``i`` is hour ``hours[i]``, segment ``segments[segment[i]]`` and page
    ``pages[page[i]]``, with its page views and a sketch of its visitors (never IDs); the store
    turns segments and pages into its own ids. ``rollups`` are the days' roll-ups.
    """

    segments: Sequence[Segment]
    pages: Sequence[str]
    hours: NDArray[np.int64]
    segment: NDArray[np.int64]
    page: NDArray[np.int64]
    pageviews: NDArray[np.int64]
    anonymous_pageviews: NDArray[np.int64]
    visitors: Sequence[bytes]  # serialised DistinctSketch per row
    rollups: Sequence[Rollup]  # see rollups.py
    bots: Sequence[tuple[int, int]]  # (hour, bot page views)


class PageViewSink(Protocol):
    """Where flushed page views go: a store."""

    def write_pageviews(self, site: str, batch: CubeBatch) -> None:
        """Add one flush's counts to the cube and its roll-ups."""
