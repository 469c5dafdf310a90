"""Page views counted in memory (``tally.py``) go to the store from here.

A background task (started by the middleware's lifespan) takes the tally's batch about once
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
from typing import Any

import anyio.to_thread
import numpy as np
from numpy.typing import NDArray

from ..background import Repeating
from .batch import PageViewSink, Traits
from .cube import NUMBER_BITS, NUMBER_MASK, cube_batch
from .tally import Counted, Tally

logger = logging.getLogger("consentkit")

DRAIN_SECONDS = 10.0  # a shutdown's last flush gives up after this (orchestrators kill soon after)


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
        self.store = store
        self.site = site
        self.interval = interval
        self.max_pending = max_pending
        self.tally = tally = Tally(max_pending)
        # The request path counts into the tally directly (bound once).
        self.count, self.engage, self.count_bot = tally.count, tally.engage, tally.count_bot
        self._dropped_reported = 0
        self._dropped_stored = 0
        self._waiting: Counted | None = None  # what earlier flushes failed to store, merged
        self._flush_lock = asyncio.Lock()
        self._repeating = Repeating(self.flush, interval=interval, what="flushing page views")

    @property
    def dropped(self) -> int:
        """Page views dropped because too many were waiting for the store."""
        return self.tally.dropped

    @property
    def pending(self) -> int:
        """Page views counted and not yet stored."""
        return self.tally.pending + (self._waiting.size if self._waiting else 0)

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
            counted = self.tally.take()
            if self._waiting is not None:
                if counted.size:
                    counted = await anyio.to_thread.run_sync(_merge, [self._waiting, counted])
                else:
                    counted = self._waiting
            if counted.size:
                self._waiting = counted  # kept (with its room) until it is stored
                await anyio.to_thread.run_sync(self._write, counted)
                self._waiting = None
                self.tally.room += counted.views
            dropped = self.dropped - self._dropped_stored
            if dropped:
                await anyio.to_thread.run_sync(self.store.write_dropped, self.site, dropped)
                self._dropped_stored += dropped

    def _write(self, counted: Counted) -> None:
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


def _merge(batches: list[Counted]) -> Counted:
    """Batches kept for a retry and the newest one, as one (segments and pages renumbered)."""
    segments: dict[Traits, int] = {}
    pages: dict[str, int] = {}
    merged = Counted([], [], array("q"), array("Q"), array("q"), {}, *_columns(3))
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
