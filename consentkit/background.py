"""A job repeated in the background of the event loop (flushing counts, purging old rows)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger("consentkit")


class Repeating:
    """Runs ``job`` every ``interval`` seconds until stopped; a failure is logged and retried.

    Stopping never interrupts a job: a flush or a drain that is writing finishes first (a job
    cancelled half-way could leave its worker thread writing while the next one starts).
    """

    def __init__(
        self,
        job: Callable[[], Awaitable[object]],
        *,
        interval: float,
        what: str,
        first_wait: bool = True,
    ) -> None:
        self.job = job
        self.interval = interval
        self.what = what
        self.first_wait = first_wait
        self._task: asyncio.Task[None] | None = None
        self._stopping: asyncio.Event | None = None

    async def _run(self, stopping: asyncio.Event) -> None:
        if self.first_wait and await self._wait(stopping):
            return
        while True:
            try:
                await self.job()
            except Exception:
                logger.exception("consentkit: %s failed; will retry", self.what)
            if await self._wait(stopping):
                return

    async def _wait(self, stopping: asyncio.Event) -> bool:
        """Sleep one interval; True when asked to stop meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), self.interval)
        return stopping.is_set()

    def start(self) -> None:
        """Start in the running event loop; a no-op once started."""
        if self._task is None:
            self._stopping = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run(self._stopping))

    async def stop(self) -> None:
        """Stop after the job in progress, if any, has finished."""
        if self._task is not None and self._stopping is not None:
            self._stopping.set()
            await self._task
            self._task = self._stopping = None
