"""What one flush hands to a store: its page views aggregated into cube cells."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from .cells import Ints
from .hll import Ranks

# Who saw a page, as the cube keeps it: (country, device, browser, os). Nothing here identifies
# a person. A plain tuple: one is built per counted page view.
Segment = tuple[str, str, str, str]
# Where a visitor came in from (source, UTM medium, UTM campaign): the site's name, never a
# referring page; set on the page view that brought them in, "" on the others.
Origin = tuple[str, str, str]
NO_ORIGIN: Origin = ("", "", "")
# A segment whose user agent is classified at the flush, off the request path: DEFERRED in
# its device's place, the ``User-Agent`` header in its browser's (``(country, DEFERRED,
# header, "")``). The buffer classifies it before anything is aggregated (a crawler's page
# views become bot page views of their hours); it never reaches a store.
DEFERRED = "\x00user agent"
# What the buffer numbers per batch: the segment, the origin and the event ("" for a page
# view, else the goal's name). A value "" is stored as number 0: none.
Traits = tuple[str, str, str, str, str, str, str, str]
SEGMENT_FIELDS = ("country", "device", "browser", "os", "source", "medium", "campaign", "event")
OPTIONAL_FIELDS = frozenset(SEGMENT_FIELDS[4:])  # where "" means none: value number 0


@dataclass(frozen=True, slots=True)
class CubeBatch:
    """One flush's page views and events, one cell per (hour, traits, page), keyed by the
    batch's own numbers: cell ``i`` is hour ``hours[i]``, traits ``segments[segment[i]]`` and page
    ``pages[page[i]]``; the store turns names into its value numbers (``cube.hour_blocks``).

    ``entry_counts``, ``registers`` and ``ranks`` are the cells' visitor sketches as sparse
    entries (see ``cells.Cells``); a visitor is never there, only a register and a rank.
    """

    segments: Sequence[Traits]
    pages: Sequence[str]
    hours: Ints
    segment: Ints
    page: Ints
    count: Ints  # page views with a consenting visitor
    anonymous: Ints  # page views counted without one (count_refused)
    engaged_ms: Ints  # engaged time reported on the cell's page views, summed
    engagements: Ints  # how many reports that sum holds
    scroll: Ints  # their deepest scroll in percent, summed
    entry_counts: Ints
    registers: Ints
    ranks: Ranks
    bots: Sequence[tuple[int, int]]  # (hour, crawler page views)

    def __len__(self) -> int:
        return len(self.hours)


# What became of a flush in the store's last try (``Flush.state``).
FRESH = 0  # not in the store: never tried, or tried in a transaction that rolled back
CLAIMED = 1  # written in the transaction under way
COMMITTING = 2  # written, and the transaction's commit sent: lost with it, or stored
IN_DOUBT = 3  # a commit whose answer never came: stored or not, the next try finds out
STORED = 4  # found stored by an earlier transaction: not written again


@dataclass(eq=False, slots=True)
class Flush:
    """One flush of one buffer (``writer``), as a store writes it: **at most once**, even
    when its retry follows a commit whose answer was lost (the database committed, the
    connection broke before it said so).

    A buffer numbers its flushes (``seq``, increasing); the store keeps each writer's
    highest stored number in the same transaction as the cells, and a flush whose number is
    not above it is stored already (``STORED``). Flushes are written in ``seq`` order, so
    "stored up to N" means every flush up to N. ``state`` is what the store found (above);
    the buffer reads it after a failed try to know what still waits.
    """

    writer: str
    seq: int
    dropped: int = 0  # page views the buffer dropped (it was full), reported with it
    state: int = FRESH
    # its cells, aggregated before the store's transaction begins (so that the transaction
    # holds its locks for the writes alone)
    batch: CubeBatch | None = None


class PageViewSink(Protocol):
    """Where flushed page views go: a store."""

    def write_pageviews(self, site: str, flushes: Sequence[Flush]) -> None:
        """Add the flushes not stored yet to the cube, in one transaction, and the page
        views their buffer dropped to the hour's count (``Flush``: at most once)."""
