"""Page views are counted here: in memory, on the request path, with no I/O.

Counting appends two integers to flat arrays: the cell (the hour, and numbers for the segment
and the page from dicts that live as long as the batch, packed into one int) and the visitor's
hash. A background task (started by the middleware's lifespan) swaps the batch out about once
a second and, in a worker thread, aggregates it (``cube_batch.py``) and hands it to the
store. If the store fails, the batch is kept and retried with the next one; past
``max_pending`` waiting page views new ones are dropped and counted in ``dropped``, and
reported in the log, never silently.
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


@dataclass(frozen=True, slots=True)
class _Counted:
    """One batch of counted page views, as the request path left it."""

    segments: list[Traits]  # segment number -> segment, origin and event
    pages: list[str]  # page number -> page
    cells: array[int]  # packed cell (see cube_batch.pack), per page view with a visitor
    visitors: array[int]  # the visitor's 64-bit keyed hash, per page view with a visitor
    anonymous: array[int]  # packed cell, per page view without one
    bots: dict[int, int]  # hour -> bot page views

    @property
    def views(self) -> int:
        return len(self.cells) + len(self.anonymous)

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
        self._retry: list[_Counted] = []
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

    def count_bot(self, hour: int) -> None:
        self._bots[hour] = self._bots.get(hour, 0) + 1

    @property
    def pending(self) -> int:
        """Page views counted and not yet stored."""
        return (
            len(self._cells)
            + len(self._anonymous)
            + sum(self._bots.values())
            + sum(counted.size for counted in self._retry)
        )

    def _take(self) -> _Counted:
        counted = _Counted(
            self._traits,
            list(self._pages),
            self._cells,
            self._visitors,
            self._anonymous,
            self._bots,
        )
        self._traits, self._segments, self._landings, self._goals = [], {}, {}, {}
        self._pages, self._bots = {}, {}
        self._cells, self._visitors, self._anonymous = array("q"), array("Q"), array("q")
        return counted

    async def flush(self) -> None:
        """Store everything counted so far (aggregated and written in a worker thread)."""
        if self.dropped > self._dropped_reported:
            logger.warning(
                "consentkit: %d page views dropped since the last report: more than %d "
                "were waiting for the store",
                self.dropped - self._dropped_reported,
                self.max_pending,
            )
            self._dropped_reported = self.dropped
        async with self._flush_lock:
            batches = [*self._retry, self._take()]
            batches = [counted for counted in batches if counted.size]
            self._retry = []
            if not batches:
                return
            try:
                await anyio.to_thread.run_sync(self._write, batches)
            except Exception:
                self._retry = batches  # they keep their room
                raise
            self._room += sum(counted.views for counted in batches)

    def _write(self, batches: list[_Counted]) -> None:
        counted = batches[0] if len(batches) == 1 else _merge(batches)
        batch = cube_batch(
            counted.segments,
            counted.pages,
            np.frombuffer(counted.cells, dtype=np.int64),
            np.frombuffer(counted.visitors, dtype=np.uint64),
            np.frombuffer(counted.anonymous, dtype=np.int64),
            list(counted.bots.items()),
        )
        self.store.write_pageviews(self.site, batch)

    def start(self) -> None:
        self._repeating.start()

    async def stop(self, *, patience: float = 15.0) -> None:
        """Stop the background task and store what is left.

        At shutdown the store may just be coming back from an outage, so the last flush is
        retried for up to ``patience`` seconds before what is left is given up (and logged).
        """
        await self._repeating.stop()
        give_up = time.monotonic() + patience
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


def _merge(batches: list[_Counted]) -> _Counted:
    """Batches kept for a retry and the newest one, as one (segments and pages renumbered)."""
    segments: dict[Traits, int] = {}
    pages: dict[str, int] = {}
    merged = _Counted([], [], array("q"), array("Q"), array("q"), {})
    for counted in batches:
        new_segment = _renumber(segments, counted.segments)
        new_page = _renumber(pages, counted.pages)
        for source, target in (
            (counted.cells, merged.cells),
            (counted.anonymous, merged.anonymous),
        ):
            cells = np.frombuffer(source, dtype=np.int64)
            hours = cells >> (2 * NUMBER_BITS)
            segment = new_segment[(cells >> NUMBER_BITS) & NUMBER_MASK]
            page = new_page[cells & NUMBER_MASK]
            cells = (((hours << NUMBER_BITS) | segment) << NUMBER_BITS) | page
            target.frombytes(cells.tobytes())
        merged.visitors.extend(counted.visitors)
        for hour, n in counted.bots.items():
            merged.bots[hour] = merged.bots.get(hour, 0) + n
    merged.segments.extend(segments)
    merged.pages.extend(pages)
    return merged
