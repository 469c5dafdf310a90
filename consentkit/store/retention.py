"""How long each table keeps its rows, and the purge that enforces it.

``retention={"pageviews": 760, "decisions": 1095}`` (days) on the middleware, or
``consentkit purge --pageviews-days 760``. A table left out is kept for ever. The
middleware purges about once an hour in the background; the command purges once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import anyio.to_thread

from ..background import Repeating
from ..errors import ConfigurationError
from .base import Store

logger = logging.getLogger("consentkit")

# Table name in the option -> (table, time column, seconds per unit of that column)
TABLES = {
    "pageviews": ("ck_blocks", "hour", 3600),
    "bots": ("ck_bots", "hour", 3600),
    "consent_stats": ("ck_consent_stats", "hour", 3600),
    "decisions": ("ck_decisions", "decided_at", 1),
}


def check_retention(retention: Mapping[str, int] | None) -> dict[str, int]:
    retention = dict(retention or {})
    for name, days in retention.items():
        if name not in TABLES:
            raise ConfigurationError(f"retention: {name!r} is not one of {', '.join(TABLES)}")
        if type(days) is not int or days < 1:
            raise ConfigurationError(f"retention[{name!r}] must be a whole number of days >= 1")
    return retention


def cutoffs(retention: Mapping[str, int], now: float) -> dict[str, int]:
    """Per table, the value of its time column below which rows are purged."""
    result = {}
    for name, days in retention.items():
        _, _, unit = TABLES[name]
        result[name] = int((now - days * 86400) // unit)
    if "pageviews" in result:  # whole days, so the daily roll-ups stay equal to the cube
        result["pageviews"] -= result["pageviews"] % 24
    return result


class PeriodicPurge:
    """Runs ``store.purge`` in a worker thread about once per ``interval`` seconds."""

    def __init__(
        self,
        store: Store,
        retention: Mapping[str, int],
        *,
        clock: Callable[[], float],
        interval: float = 3600.0,
    ) -> None:
        self.store = store
        self.retention = dict(retention)
        self.clock = clock
        self._repeating = Repeating(
            self.purge_once, interval=interval, what="purging old rows", first_wait=False
        )

    async def purge_once(self) -> dict[str, int]:
        limits = cutoffs(self.retention, self.clock())
        removed: dict[str, int] = await anyio.to_thread.run_sync(self.store.purge, limits)
        if any(removed.values()):
            logger.info("consentkit: purged %s", removed)
        return removed

    def start(self) -> None:
        if self.retention:
            self._repeating.start()

    async def stop(self) -> None:
        await self._repeating.stop()
