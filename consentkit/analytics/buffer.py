"""Page views are counted here: in memory, on the request path, with no I/O.

Counting appends two integers to flat arrays: the cell (the hour, and numbers for the segment
and the page from dicts that live as long as the batch, packed into one int) and the visitor's
hash. A background task (started by the middleware's lifespan) swaps the batch out about once
a second and, in a worker thread, aggregates it (``cube_batch.py``) and hands it to the
store.

When flushes fall behind (the store is slow or away), what waits is merged in memory into
one batch, never queued as a batch per flush, and the memory it takes is bounded: past
``max_pending`` waiting page views (16 bytes each, about 16 MB at the default million; an
engagement report takes the room of one, in 24 bytes) new ones are dropped, counted in
``dropped``, reported in the log and stored with the next flush that succeeds, so that
queries report them (``meta.dropped_pageviews``): never silently. A shutdown stores what
is left within ``DRAIN_SECONDS``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from array import array
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import numpy as np
from numpy.typing import NDArray

from ..background import Repeating
from .batch import NO_ORIGIN, Origin, PageViewSink, Segment, Traits
from .cube import HOUR_BITS, NUMBER_BITS, NUMBER_MASK, cube_batch

logger = logging.getLogger("consentkit")

DRAIN_SECONDS = 10.0  # a shutdown's last flush gives up after this (orchestrators kill soon after)


@dataclass(frozen=True, slots=True)
class _Counted:
    """One batch of counted page views, as the request path left it."""

    segments: list[Traits]  # segment number -> segment, origin and event
    pages: list[str]  # page number -> page
    cells: array[int]  # packed cell (see cube_batch.pack), per page view with a visitor
    visitors: array[int]  # the visitor's 64-bit keyed hash, per page view with a visitor
    anonymous: array[int]  # packed cell, per page view without one
    bots: dict[int, int]  # hour -> bot page views
    engaged: array[int]  # packed cell, per engagement report
    engaged_ms: array[int]  # its engaged milliseconds
    scroll: array[int]  # its deepest scroll, in percent

    @property
    def views(self) -> int:
        """What takes room in the buffer: page views, events and engagement reports."""
        return len(self.cells) + len(self.anonymous) + len(self.engaged)

    @property
    def size(self) -> int:
        return self.views + sum(self.bots.values())


class PageViewBuffer:
    """Counts page views until the next flush."""

    def __init__(
        self,
        store: PageViewSink,
        *,
        site: str,
        interval: float = 1.0,
        max_pending: int = 1_000_000,
    ) -> None:
        if not 0 < max_pending <= NUMBER_MASK:
            raise ValueError(f"max_pending must be between 1 and {NUMBER_MASK:,}")
        self.store = store
        self.site = site
        self.interval = interval
        self.max_pending = max_pending
        self.dropped = 0
        self._dropped_reported = 0
        self._dropped_stored = 0
        self._room = max_pending  # page views that may still be counted before dropping
        # Each batch numbers its traits (segment, origin, event) in ``_traits``; a plain
        # page view (most of them) finds its number by its segment alone, a way in by its
        # origin then its segment: no tuple is built for either (see ``count``).
        self._traits: list[Traits] = []
        self._segments: dict[Segment, int] = {}
        self._landings: dict[Origin, dict[Segment, int]] = {}
        self._goals: dict[Traits, int] = {}
        self._pages: dict[str, int] = {}
        self._cells: array[int] = array("q")
        self._visitors: array[int] = array("Q")
        self._anonymous: array[int] = array("q")
        self._bots: dict[int, int] = {}
        self._engaged: array[int] = array("q")
        self._engaged_ms: array[int] = array("q")
        self._scroll: array[int] = array("q")
        self._waiting: _Counted | None = None  # what earlier flushes failed to store, merged
        self._flush_lock = asyncio.Lock()
        self._repeating = Repeating(self.flush, interval=interval, what="flushing page views")

    def count(
        self,
        hour: int,
        segment: Segment,
        page: str,
        visitor: int | None,
        origin: Origin = NO_ORIGIN,
        event: str = "",
    ) -> None:
        """One page view, or with ``event`` a custom event (a goal) on ``page``; ``visitor``
        is the visitor's keyed hash, None when anonymous; ``origin`` where the visitor came
        in from, on the page view that brought them."""
        if self._room <= 0:
            self.dropped += 1
            return
        self._room -= 1
        if hour >> HOUR_BITS:  # negative, or past 2209: it would not fit in the packed cell
            raise ValueError(f"hour {hour} is outside the cube's range")
        table: dict[Any, int]
        key: Any = segment  # a Segment, or for a goal its Traits
        if event:  # a goal: rare enough to be keyed by all its traits
            table, key = self._goals, segment + origin + (event,)
        elif origin[0]:  # the page view that brought the visitor in
            table = self._landings.get(origin) or self._landings.setdefault(origin, {})
        else:
            table = self._segments
        s = table.get(key)
        if s is None:
            s = table[key] = len(self._traits)
            self._traits.append(segment + origin + (event,))
        p = self._pages.get(page)
        if p is None:
            p = self._pages[page] = len(self._pages)
        cell = (hour << NUMBER_BITS | s) << NUMBER_BITS | p  # cube_batch.pack, inlined
        if visitor is None:
            self._anonymous.append(cell)
        else:
            self._cells.append(cell)
            self._visitors.append(visitor)

    def engage(self, hour: int, segment: Segment, page: str, ms: int, scroll: int) -> None:
        """An engagement report: ``ms`` milliseconds engaged on ``page`` and its deepest
        ``scroll`` percent, added to the cell of that page's views (not a page view)."""
        if self._room <= 0:
            self.dropped += 1
            return
        self._room -= 1
        if hour >> HOUR_BITS:
            raise ValueError(f"hour {hour} is outside the cube's range")
        s = self._segments.get(segment)
        if s is None:
            s = self._segments[segment] = len(self._traits)
            self._traits.append(segment + NO_ORIGIN + ("",))
        p = self._pages.get(page)
        if p is None:
            p = self._pages[page] = len(self._pages)
        self._engaged.append((hour << NUMBER_BITS | s) << NUMBER_BITS | p)
        self._engaged_ms.append(ms)
        self._scroll.append(scroll)

    def count_bot(self, hour: int) -> None:
        self._bots[hour] = self._bots.get(hour, 0) + 1

    @property
    def pending(self) -> int:
        """Page views counted and not yet stored."""
        return (
            len(self._cells)
            + len(self._anonymous)
            + len(self._engaged)
            + sum(self._bots.values())
            + (self._waiting.size if self._waiting else 0)
        )

    def _take(self) -> _Counted:
        counted = _Counted(
            self._traits,
            list(self._pages),
            self._cells,
            self._visitors,
            self._anonymous,
            self._bots,
            self._engaged,
            self._engaged_ms,
            self._scroll,
        )
        self._traits, self._segments, self._landings, self._goals = [], {}, {}, {}
        self._pages, self._bots = {}, {}
        self._cells, self._visitors, self._anonymous = array("q"), array("Q"), array("q")
        self._engaged, self._engaged_ms, self._scroll = array("q"), array("q"), array("q")
        return counted

    async def flush(self) -> None:
        """Store everything counted so far (merged, aggregated and written in a worker
        thread), and the count of page views dropped since the last flush that did."""
        if self.dropped > self._dropped_reported:
            logger.warning(
                "consentkit: %d page views dropped since the last report: more than %d "
                "were waiting for the store",
                self.dropped - self._dropped_reported,
                self.max_pending,
            )
            self._dropped_reported = self.dropped
        async with self._flush_lock:
            counted = self._take()
            if self._waiting is not None:
                if counted.size:
                    counted = await anyio.to_thread.run_sync(_merge, [self._waiting, counted])
                else:
                    counted = self._waiting
            if counted.size:
                self._waiting = counted  # kept (with its room) until it is stored
                await anyio.to_thread.run_sync(self._write, counted)
                self._waiting = None
                self._room += counted.views
            dropped = self.dropped - self._dropped_stored
            if dropped:
                await anyio.to_thread.run_sync(self.store.write_dropped, self.site, dropped)
                self._dropped_stored += dropped

    def _write(self, counted: _Counted) -> None:
        batch = cube_batch(
            counted.segments,
            counted.pages,
            np.frombuffer(counted.cells, dtype=np.int64),
            np.frombuffer(counted.visitors, dtype=np.uint64),
            np.frombuffer(counted.anonymous, dtype=np.int64),
            list(counted.bots.items()),
            (
                np.frombuffer(counted.engaged, dtype=np.int64),
                np.frombuffer(counted.engaged_ms, dtype=np.int64),
                np.frombuffer(counted.scroll, dtype=np.int64),
            ),
        )
        self.store.write_pageviews(self.site, batch)

    def start(self) -> None:
        self._repeating.start()

    async def stop(self, *, patience: float = DRAIN_SECONDS) -> None:
        """Stop the background task and store what is left.

        At shutdown the store may just be coming back from an outage, so the last flush is
        retried until ``patience`` seconds have passed since the stop began; then what is
        left is given up (and logged with its count).
        """
        give_up = time.monotonic() + patience  # the flush in progress counts too
        await self._repeating.stop()
        while True:
            try:
                await self.flush()
                return
            except Exception:
                if time.monotonic() >= give_up:
                    logger.exception(
                        "consentkit: final flush failed; %d page views not stored", self.pending
                    )
                    return
            await asyncio.sleep(0.25)


def _renumber(names: dict[Any, int], items: list[Any]) -> NDArray[np.int64]:
    return np.fromiter(
        (names.setdefault(item, len(names)) for item in items), dtype=np.int64, count=len(items)
    )


def _columns(n: int) -> list[array[int]]:
    return [array("q") for _ in range(n)]


def _merge(batches: list[_Counted]) -> _Counted:
    """Batches kept for a retry and the newest one, as one (segments and pages renumbered)."""
    segments: dict[Traits, int] = {}
    pages: dict[str, int] = {}
    merged = _Counted([], [], array("q"), array("Q"), array("q"), {}, *_columns(3))
    for counted in batches:
        new_segment = _renumber(segments, counted.segments)
        new_page = _renumber(pages, counted.pages)
        for source, target in (
            (counted.cells, merged.cells),
            (counted.anonymous, merged.anonymous),
            (counted.engaged, merged.engaged),
        ):
            cells = np.frombuffer(source, dtype=np.int64)
            hours = cells >> (2 * NUMBER_BITS)
            segment = new_segment[(cells >> NUMBER_BITS) & NUMBER_MASK]
            page = new_page[cells & NUMBER_MASK]
            cells = (((hours << NUMBER_BITS) | segment) << NUMBER_BITS) | page
            target.frombytes(cells.tobytes())
        merged.visitors.extend(counted.visitors)
        merged.engaged_ms.extend(counted.engaged_ms)
        merged.scroll.extend(counted.scroll)
        for hour, n in counted.bots.items():
            merged.bots[hour] = merged.bots.get(hour, 0) + n
    merged.segments.extend(segments)
    merged.pages.extend(pages)
    return merged
