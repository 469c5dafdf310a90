"""Page views are counted here: in memory, on the request path, with no I/O.

A background task (started by the middleware's lifespan) swaps the buffer out about once a
second and hands it to the store in a worker thread. If the store fails, the counts are
merged back and retried; past ``max_cells`` pending cells new ones are dropped and counted
in ``dropped``, never silently.
"""

from __future__ import annotations

import asyncio
import logging

import anyio.to_thread

from .background import Repeating
from .records import CubeDelta, CubeKey
from .rollups import rollups_from_hashes
from .sketch import encode_hashes
from .store import Store

logger = logging.getLogger("consentkit")


class _Cell:
    __slots__ = ("anonymous", "pageviews", "visitors")

    def __init__(self) -> None:
        self.pageviews = 0
        self.anonymous = 0
        self.visitors: set[int] = set()


class PageViewBuffer:
    """Aggregates page views per cube cell until the next flush."""

    def __init__(
        self,
        store: Store,
        *,
        site: str,
        interval: float = 1.0,
        max_cells: int = 200_000,
    ) -> None:
        self.store = store
        self.site = site
        self.interval = interval
        self.max_cells = max_cells
        self.dropped = 0
        self._dropped_reported = 0
        self._cells: dict[CubeKey, _Cell] = {}
        self._bots: dict[int, int] = {}
        self._flush_lock = asyncio.Lock()
        self._repeating = Repeating(self.flush, interval=interval, what="flushing page views")

    def count(self, key: CubeKey, visitor: int | None) -> None:
        """One page view; ``visitor`` is the visitor's keyed hash, None when anonymous."""
        cell = self._cells.get(key)
        if cell is None:
            if len(self._cells) >= self.max_cells:
                self.dropped += 1
                return
            cell = self._cells[key] = _Cell()
        if visitor is None:
            cell.anonymous += 1
        else:
            cell.pageviews += 1
            cell.visitors.add(visitor)

    def count_bot(self, hour: int) -> None:
        self._bots[hour] = self._bots.get(hour, 0) + 1

    @property
    def pending(self) -> int:
        """Page views counted and not yet flushed."""
        return sum(c.pageviews + c.anonymous for c in self._cells.values()) + sum(
            self._bots.values()
        )

    async def flush(self) -> None:
        """Write everything counted so far to the store (in a worker thread)."""
        if self.dropped > self._dropped_reported:
            logger.warning(
                "consentkit: %d page views dropped since the last report: more than %d "
                "distinct cells were waiting for the store",
                self.dropped - self._dropped_reported, self.max_cells,
            )
            self._dropped_reported = self.dropped
        async with self._flush_lock:
            cells, bots = self._cells, self._bots
            if not cells and not bots:
                return
            self._cells, self._bots = {}, {}
            try:
                # Encoding and roll-ups run in the worker thread too: the event loop only
                # swapped two dicts.
                await anyio.to_thread.run_sync(self._write, cells, bots)
            except Exception:
                self._restore(cells, bots)
                raise

    def _write(self, cells: dict[CubeKey, _Cell], bots: dict[int, int]) -> None:
        # In key order: SQLite's B-tree takes sorted inserts several times faster.
        ordered = sorted(cells.items())
        deltas = [
            CubeDelta(key, c.pageviews, c.anonymous, encode_hashes(c.visitors))
            for key, c in ordered
        ]
        rollups = rollups_from_hashes(
            (key, c.pageviews + c.anonymous, c.visitors) for key, c in ordered
        )
        self.store.write_pageviews(self.site, deltas, sorted(bots.items()), rollups)

    def _restore(self, cells: dict[CubeKey, _Cell], bots: dict[int, int]) -> None:
        for key, old in cells.items():
            cell = self._cells.get(key)
            if cell is None:
                if len(self._cells) >= self.max_cells:
                    self.dropped += old.pageviews + old.anonymous
                    continue
                self._cells[key] = old
            else:
                cell.pageviews += old.pageviews
                cell.anonymous += old.anonymous
                cell.visitors |= old.visitors
        for hour, n in bots.items():
            self._bots[hour] = self._bots.get(hour, 0) + n

    def start(self) -> None:
        self._repeating.start()

    async def stop(self) -> None:
        """Stop the background task and flush what is left."""
        await self._repeating.stop()
        try:
            await self.flush()
        except Exception:
            logger.exception(
                "consentkit: final flush failed; %d page views not stored", self.pending
            )
