"""Page views counted in memory (``tally.py``) go to the store from here.

A background task (started by the middleware's lifespan) takes the tally's batch about once
a second and, in a worker thread, aggregates it (``cube_batch.py``) and hands it to the
store.

Each flush is numbered, and the store keeps the highest number it stored in the same
transaction (``batch.Flush``): a flush retried after a commit whose answer was lost (the
connection broke as the database committed) is found stored and not counted twice.

When flushes fall behind (the store is slow or away), what waits is merged in memory into
one batch (or a few when commits went unanswered: each stored or not as a whole, and one
not stored), never queued as a batch per flush, and the memory it takes is bounded: past
``max_pending`` waiting page views (16 bytes each, about 16 MB at the default million; an
engagement report takes the room of one, in 24 bytes) new ones are dropped, counted in
``dropped``, reported in the log and stored with the next flush that succeeds, so that
queries report them (``meta.dropped_pageviews``): never silently. A shutdown stores what
is left within ``DRAIN_SECONDS``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio.to_thread
import numpy as np
from numpy.typing import NDArray

from ..background import Repeating
from .batch import (
    COMMITTING,
    DEFERRED,
    FRESH,
    IN_DOUBT,
    STORED,
    CubeBatch,
    Flush,
    PageViewSink,
    Traits,
)
from .cube import NUMBER_BITS, NUMBER_MASK, cube_batch
from .tally import Counted, Tally

if TYPE_CHECKING:
    from ..visit.useragent import Agent

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
        agents: Callable[[str], Agent] | None = None,
    ) -> None:
        """``agents`` classifies the user agents of DEFERRED segments at the flush (the
        middleware's classifier); a buffer counting DEFERRED segments needs it."""
        self.store = store
        self.agents = agents
        self.site = site
        self.interval = interval
        self.max_pending = max_pending
        self.tally = tally = Tally(max_pending)
        # The request path counts into the tally directly (bound once).
        self.count, self.engage, self.count_bot = tally.count, tally.engage, tally.count_bot
        self._dropped_reported = 0
        self._dropped_taken = 0
        # Flushes numbered for the store (batch.Flush): this buffer's name there, the last
        # number given out, and what earlier tries failed to store, oldest first: batches
        # whose commit went unanswered, each on its own, then one batch known not stored.
        self._writer = secrets.token_hex(12)
        self._seq = 0
        self._waiting: list[_Waiting] = []
        self._flush_lock = asyncio.Lock()
        self._repeating = Repeating(self.flush, interval=interval, what="flushing page views")

    @property
    def dropped(self) -> int:
        """Page views dropped because too many were waiting for the store."""
        return self.tally.dropped

    @property
    def pending(self) -> int:
        """Page views counted and not yet stored."""
        return self.tally.pending + sum(waiting.size for waiting in self._waiting)

    async def flush(self) -> None:
        """Store everything counted so far (aggregated and written in a worker thread, with
        what earlier flushes failed to store), and the count of page views dropped since the
        last flush that did."""
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
            dropped, self._dropped_taken = self.dropped - self._dropped_taken, self.dropped
            if counted.size or dropped:
                self._waiting.append(_Waiting(self._number(), [counted], dropped))
            if not self._waiting:
                return
            tries = [Flush(self._writer, w.seq, w.dropped, w.state) for w in self._waiting]
            try:
                await anyio.to_thread.run_sync(self._write, self._waiting, tries)
            except BaseException:
                self._waiting, stored = _still_waiting(self._waiting, tries, self._number())
                self.tally.room += stored
                raise
            self.tally.room += sum(waiting.views for waiting in self._waiting)
            self._waiting = []

    def _write(self, waiting: list[_Waiting], tries: list[Flush]) -> None:
        """Aggregate each flush, then hand them to the store (a worker thread)."""
        for each, flush in zip(waiting, tries, strict=True):
            flush.batch = _cube_batch(each, self.agents)
        self.store.write_pageviews(self.site, tries)

    def _number(self) -> int:
        self._seq += 1
        return self._seq

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


@dataclass(slots=True)
class _Waiting:
    """A flush not stored yet: its number for the store, its page views (batches merged
    when it is next written), its drops."""

    seq: int
    parts: list[Counted]
    dropped: int
    state: int = FRESH  # IN_DOUBT once a commit that held it went unanswered

    @property
    def views(self) -> int:
        return sum(counted.views for counted in self.parts)

    @property
    def size(self) -> int:
        return sum(counted.size for counted in self.parts)


def _still_waiting(
    waiting: list[_Waiting], tries: list[Flush], new_seq: int
) -> tuple[list[_Waiting], int]:
    """After a failed try: what is still to store, in as few flushes as the try's outcome
    allows, and the page views the store was found to hold.

    Flushes in a transaction whose commit went unanswered were all stored or none: one
    flush now, numbered as the highest of them (the store holds that number, or none of
    theirs). Flushes in a transaction that rolled back, and any not tried, are not stored:
    one flush, under a new number. A flush the store found stored goes."""
    kept, unanswered, not_stored, stored = [], [], [], 0
    for each, tried in zip(waiting, tries, strict=True):
        if tried.state == STORED:
            stored += each.views
        elif tried.state == COMMITTING:
            unanswered.append(each)
        elif tried.state == IN_DOUBT:
            kept.append(each)  # an earlier unanswered commit, not reached by this try
        else:
            not_stored.append(each)
    if unanswered:
        kept.append(_joined(unanswered, unanswered[-1].seq, IN_DOUBT))
    if not_stored:
        kept.append(_joined(not_stored, new_seq, FRESH))
    return kept, stored


def _joined(flushes: list[_Waiting], seq: int, state: int) -> _Waiting:
    parts = [counted for each in flushes for counted in each.parts]
    return _Waiting(seq, parts, sum(each.dropped for each in flushes), state)


def _cube_batch(waiting: _Waiting, agents: Callable[[str], Agent] | None) -> CubeBatch:
    """The flush's cells: its batches merged first, and kept merged for a retry; its
    deferred user agents classified."""
    if len(waiting.parts) > 1:
        waiting.parts = [_merge(waiting.parts)]
    counted = classify_deferred(waiting.parts[0], agents)  # (the room taken stays as it was)
    return cube_batch(
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


def classify_deferred(counted: Counted, agents: Callable[[str], Agent] | None) -> Counted:
    """The batch with the user agents of its DEFERRED segments classified: each such
    segment becomes its visitor's traits (merged with the same traits counted directly),
    or, for a crawler, its page views become bot page views of their hours (and its
    engagement reports go)."""
    if not any(traits[1] == DEFERRED for traits in counted.segments):
        return counted
    if agents is None:
        raise RuntimeError("a DEFERRED segment was counted in a buffer without agents")
    segments: dict[Traits, int] = {}
    numbers = np.empty(len(counted.segments), dtype=np.int64)
    for n, traits in enumerate(counted.segments):
        if traits[1] == DEFERRED:
            agent = agents(traits[2])
            if agent.is_bot:
                numbers[n] = -1
                continue
            traits = (traits[0], agent.device, agent.browser, agent.os, *traits[4:])
        numbers[n] = segments.setdefault(traits, len(segments))
    classified = Counted(
        list(segments), counted.pages, array("q"), array("Q"), array("q"), dict(counted.bots),
        *_columns(3),
    )  # fmt: skip
    crawled = []  # the hours of the crawlers' page views

    def kept(source: array[int], target: array[int], *paired: tuple[array[int], array[int]]) -> Any:
        cells = np.frombuffer(source, dtype=np.int64)
        hours = cells >> (2 * NUMBER_BITS)
        segment = numbers[(cells >> NUMBER_BITS) & NUMBER_MASK]
        keep = segment >= 0
        cells = (((hours << NUMBER_BITS) | segment) << NUMBER_BITS) | (cells & NUMBER_MASK)
        target.frombytes(cells[keep].tobytes())
        for column, into in paired:
            into.frombytes(np.frombuffer(column, dtype=column.typecode)[keep].tobytes())
        return hours[~keep]

    crawled.append(kept(counted.cells, classified.cells, (counted.visitors, classified.visitors)))
    crawled.append(kept(counted.anonymous, classified.anonymous))
    kept(counted.engaged, classified.engaged, (counted.engaged_ms, classified.engaged_ms),
         (counted.scroll, classified.scroll))  # fmt: skip
    hours, views = np.unique(np.concatenate(crawled), return_counts=True)
    for hour, n in zip(hours.tolist(), views.tolist(), strict=True):
        classified.bots[hour] = classified.bots.get(hour, 0) + n
    return classified


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
