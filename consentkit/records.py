"""Plain data that crosses from the middleware to a store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


class CubeKey(NamedTuple):
    """One cell of the analytics cube. Nothing here identifies a person.

    A tuple rather than a dataclass: one is built per counted page view, and tuples are
    the cheapest hashable record Python has.
    """

    hour: int  # hours since the Unix epoch, UTC
    country: str
    device: str
    browser: str
    os: str
    page: str


@dataclass(frozen=True, slots=True)
class CubeDelta:
    """What one flush adds to a cube cell: counts, and a sketch of the visitors (never IDs)."""

    key: CubeKey
    pageviews: int
    anonymous_pageviews: int
    visitors: bytes  # a serialised DistinctSketch


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
