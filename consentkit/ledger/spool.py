"""A durable local spool for consent decisions while the store cannot take them.

When the store (typically PostgreSQL across the network) is unreachable, the visitor's choice
must still take effect and must never be lost: its ledger record goes into a small SQLite
file on local disk (``synchronous=FULL``: on disk before the visitor is answered) and a
background task moves records into the store, oldest first, once it answers again. While
anything waits in the spool, new decisions queue behind it, so the ledger keeps the order
in which visitors decided.

A record is removed from the spool only after the store has committed it; a crash between
the two would append it twice (at least once, never zero times), were it not that the store
takes a spooled record as retried: one that is its visitor's latest record in the ledger
already (the same choice, to the second) is not appended again. So is a decision whose
commit reached the database while the connection broke before the answer came back: it
went to the spool, and from there it is recognised. A removed record (stored,
or erased by its visitor) leaves no copy on disk: deleted content is overwritten
(``secure_delete``), and the write-ahead log, which still holds the pages as they were, is
checkpointed and truncated after every drain and erasure.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Collection
from dataclasses import asdict
from typing import Any

import anyio.to_thread

from ..background import Repeating
from ..errors import ConfigurationError, StoreError
from .records import ConsentTally, DecisionRecord, DecisionSink

logger = logging.getLogger("consentkit")


CLAIM_SECONDS = 120.0  # a drainer that died holding its claim is replaced after this


class DecisionSpool:
    """Decisions waiting for the store, in a local SQLite file.

    Several processes (``--workers``) may share one spool file: the file, not the process,
    says whether decisions are waiting, and one drainer at a time claims the oldest record
    (a claim expires if its holder dies), so no record goes into the store twice and the
    ledger keeps the order in which they were decided.
    """

    def __init__(self, path: str, store: DecisionSink, *, interval: float = 2.0) -> None:
        self.path = path
        self.store = store
        self._lock = threading.Lock()  # guards the spool's connection
        try:
            self._db = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, timeout=30
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA secure_delete=ON")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS waiting (n INTEGER PRIMARY KEY,"
                " record TEXT NOT NULL, claimed REAL NOT NULL DEFAULT 0)"
            )
            self._count()
        except sqlite3.Error as error:
            raise ConfigurationError(f"spool {path!r}: cannot open it ({error})") from None
        self._repeating = Repeating(self.drain, interval=interval, what="draining the spool")
        self._residue = False  # deleted records may still be in the write-ahead log

    def _count(self) -> int:
        with self._lock:
            self.pending = int(self._db.execute("SELECT COUNT(*) FROM waiting").fetchone()[0])
        return self.pending

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

    def append_decision(
        self, record: DecisionRecord, tally: ConsentTally, config: str, *, retried: bool = False
    ) -> None:
        """Append to the store, or to the spool when the store fails or others wait."""
        if not self._count():
            try:
                self.store.append_decision(record, tally, config, retried=retried)
                return
            except StoreError:
                pass
        self.put(record, tally, config)

    def drain_once(self) -> int:
        """Move waiting decisions into the store, oldest first; how many moved."""
        moved = 0
        while (claimed := self._claim()) is not None:
            n, entry = claimed
            record, tally, config = _parse(entry)
            try:
                # (a failed try may have committed, its answer lost: the store checks)
                self.store.append_decision(record, tally, config, retried=True)
            except StoreError:
                self._release(n)
                break  # still away: try again later
            with self._lock:
                self._db.execute("DELETE FROM waiting WHERE n = ?", (n,))
            moved += 1
        if moved:
            logger.info("consentkit: %d spooled decisions stored, %d waiting", moved, self._count())
            self.scrub()
        return moved

    def scrub(self) -> None:
        """Checkpoint the write-ahead log into the file and truncate it, so the old copies
        of deleted records it holds are gone. Another process reading the spool at that
        moment can hold the log back; then the next drain tries again."""
        with self._lock:
            busy, _, _ = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        self._residue = bool(busy)

    def _claim(self) -> tuple[int, str] | None:
        """The oldest waiting record, claimed, unless another drainer holds a live claim."""
        now = time.time()
        with self._lock:
            row = self._db.execute(
                "UPDATE waiting SET claimed = ? WHERE n = (SELECT MIN(n) FROM waiting)"
                " AND NOT EXISTS (SELECT 1 FROM waiting WHERE claimed > ?)"
                " RETURNING n, record",
                (now, now - CLAIM_SECONDS),
            ).fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def _release(self, n: int) -> None:
        with self._lock:
            self._db.execute("UPDATE waiting SET claimed = 0 WHERE n = ?", (n,))

    def waiting_for(self, site: str, subjects: Collection[str]) -> list[DecisionRecord]:
        """The records of these visitors that still wait here, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT record FROM waiting ORDER BY n").fetchall()
        records = (_parse(entry)[0] for (entry,) in rows)
        return [r for r in records if r.site == site and r.subject in subjects]

    def forget(self, site: str, subjects: Collection[str]) -> int:
        """Delete these visitors' waiting records (their erasure); how many."""
        with self._lock:
            rows = self._db.execute("SELECT n, record FROM waiting").fetchall()
            doomed = [
                (n,)
                for n, entry in rows
                if (record := _parse(entry)[0]).site == site and record.subject in subjects
            ]
            self._db.executemany("DELETE FROM waiting WHERE n = ?", doomed)
        if doomed:
            self.scrub()
        return len(doomed)

    async def drain(self) -> None:
        if self._count():
            await anyio.to_thread.run_sync(self.drain_once)
        elif self._residue:
            await anyio.to_thread.run_sync(self.scrub)

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
