"""A job repeated in the background of the event loop (flushing counts, purging old rows)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger("consentkit")


class Repeating:
    """Runs ``job`` every ``interval`` seconds until stopped; a failure is logged and retried."""

    def __init__(
        self, job: Callable[[], Awaitable[object]], *, interval: float, what: str,
        first_wait: bool = True,
    ) -> None:
        self.job = job
        self.interval = interval
        self.what = what
        self.first_wait = first_wait
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        if self.first_wait:
            await asyncio.sleep(self.interval)
        while True:
            try:
                await self.job()
            except Exception:
                logger.exception("consentkit: %s failed; will retry", self.what)
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        """Start in the running event loop; a no-op once started."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
