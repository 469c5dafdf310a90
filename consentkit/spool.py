"""A durable local spool for consent decisions while the store cannot take them.

When the store (typically PostgreSQL across the network) is unreachable, the visitor's choice
must still take effect and must never be lost: its ledger record goes into a small SQLite
file on local disk (``synchronous=FULL``: on disk before the visitor is answered) and a
background task moves records into the store, oldest first, once it answers again. While
anything waits in the spool, new decisions queue behind it, so the ledger keeps the order
in which visitors decided.

A record is removed from the spool only after the store has committed it; a crash between
the two would append it twice (at least once, never zero times).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from dataclasses import asdict
from typing import Any

import anyio.to_thread

from .background import Repeating
from .errors import ConfigurationError, StoreError
from .records import ConsentTally, DecisionRecord
from .store import Store

logger = logging.getLogger("consentkit")


class DecisionSpool:
    """Decisions waiting for the store, in a local SQLite file."""

    def __init__(self, path: str, store: Store, *, interval: float = 2.0) -> None:
        self.path = path
        self.store = store
        self._lock = threading.Lock()  # guards the spool's connection
        self._draining = threading.Lock()  # one drain at a time, or a record goes in twice
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS waiting (n INTEGER PRIMARY KEY, record TEXT NOT NULL)"
            )
            self.pending = self._db.execute("SELECT COUNT(*) FROM waiting").fetchone()[0]
        except sqlite3.Error as error:
            raise ConfigurationError(f"spool {path!r}: cannot open it ({error})") from None
        self._repeating = Repeating(self.drain, interval=interval, what="draining the spool")

    def put(self, record: DecisionRecord, tally: ConsentTally, config: str) -> None:
        """Keep a decision durably until the store takes it (StoreError if even this fails)."""
        entry = json.dumps({"record": asdict(record), "tally": asdict(tally), "config": config})
        with self._lock:
            try:
                self._db.execute("INSERT INTO waiting (record) VALUES (?)", (entry,))
            except sqlite3.Error as error:
                raise StoreError(f"the spool {self.path} cannot take it: {error}") from error
            self.pending += 1
        if self.pending == 1:
            logger.warning("consentkit: the store is unreachable; decisions wait in %s", self.path)

    def append(self, record: DecisionRecord, tally: ConsentTally, config: str) -> None:
        """Append to the store, or to the spool when the store fails or others wait."""
        if not self.pending:
            try:
                self.store.append_decision(record, tally, config)
                return
            except StoreError:
                pass
        self.put(record, tally, config)

    def drain_once(self) -> int:
        """Move waiting decisions into the store, oldest first; how many moved."""
        with self._draining:
            return self._drain()

    def _drain(self) -> int:
        moved = 0
        while True:
            with self._lock:
                row = self._db.execute(
                    "SELECT n, record FROM waiting ORDER BY n LIMIT 1"
                ).fetchone()
            if row is None:
                break
            n, entry = row
            record, tally, config = _parse(entry)
            try:
                self.store.append_decision(record, tally, config)
            except StoreError:
                break  # still away: try again later
            with self._lock:
                self._db.execute("DELETE FROM waiting WHERE n = ?", (n,))
                self.pending -= 1
            moved += 1
        if moved:
            logger.info("consentkit: %d spooled decisions stored, %d waiting", moved, self.pending)
        return moved

    async def drain(self) -> None:
        if self.pending:
            await anyio.to_thread.run_sync(self.drain_once)

    def start(self) -> None:
        self._repeating.start()

    async def stop(self) -> None:
        await self._repeating.stop()
        await self.drain()  # a last try; what is left stays on disk for the next start

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _parse(entry: str) -> tuple[DecisionRecord, ConsentTally, str]:
    data: dict[str, Any] = json.loads(entry)
    record = data["record"]
    record["categories"] = tuple(record["categories"])
    tally = data["tally"]
    tally["offered"], tally["granted"] = tuple(tally["offered"]), tuple(tally["granted"])
    return DecisionRecord(**record), ConsentTally(**tally), str(data["config"])
