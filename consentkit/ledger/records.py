"""Plain data that crosses from the middleware to a store."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

# Who saw a page, as the cube keeps it: (country, device, browser, os). Nothing here identifies
# a person. A plain tuple: one is built per counted page view.
Segment = tuple[str, str, str, str]
SEGMENT_FIELDS = ("country", "device", "browser", "os")

Rollup = tuple[int, str, str, int, bytes]  # day, kind, value, page views, visitors sketch

# Control characters and halves of surrogate pairs: PostgreSQL's text cannot hold a NUL, a
# driver cannot encode an unpaired surrogate, and no real page or browser name has either.
UNSTORABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def storable_text(text: str) -> str:
    """``text`` as every store can hold it: what cannot be stored becomes U+FFFD. A path or
    a user agent's family name that came from a hostile request must not make a write
    fail, since a failed flush is retried with everything counted after it."""
    return UNSTORABLE.sub("\ufffd", text)


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


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """One consent decision, as the ledger keeps it: no IP, no user agent, no raw cookie."""

    site: str
    subject: str  # keyed hash of the visitor's decision ID
    decided_at: int  # Unix seconds
    policy_version: str
    action: str  # accept_all | reject_all | custom | gpc | withdraw
    categories: tuple[str, ...]  # granted, "necessary" included
    language: str
    config_hash: str  # hash of the banner configuration and texts shown


@dataclass(frozen=True, slots=True)
class ConsentTally:
    """Aggregated consent statistics for one decision (for consent analytics)."""

    hour: int
    country: str
    device: str
    browser: str
    action: str
    offered: tuple[str, ...]  # the optional categories offered
    granted: tuple[str, ...]
