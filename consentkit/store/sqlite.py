"""The SQLite store: one file in WAL mode, the embedded default.

Writes go through one connection under a lock (SQLite has one writer at a time anyway);
each reading thread gets its own connection so queries never wait for a flush.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any

from ..analytics.batch import Flush
from ..errors import ConfigurationError, StoreError
from ..ledger.group_commit import GroupCommit
from ..ledger.records import ConsentTally, DecisionRecord
from ..ledger.verify import LedgerReport
from ..query.plan import Dialect, Plan
from .base import Store
from .checkpoint import BACKSTOP_PAGES, WalCheckpointer
from .consent_stats import Decision
from .cube import COMPACT_INTERVAL, CubeSnapshot, CubeTables
from .cube_migration import move_old_cube
from .export import BLOCKS_IN_ORDER, EXPORTS, exported, exported_pageviews
from .ledger_purge import purge_start
from .migrate import migrate
from .purge import purge_rows
from .schema import CUBE_BLOCKS, LEDGER_CHAIN
from .sqlite_files import SPELLING, sqlite_path, use_wal
from .sqlite_ledger import LEDGER as ledger
from .values import Sql

logger = logging.getLogger("consentkit")


_TRUNCATE_ATTEMPTS, _TRUNCATE_PAUSE = 100, 0.02  # emptying the log after an erasure: 2 s at most


class SQLiteStore(Store):
    dialect = Dialect(placeholder="?", contains="instr({column}, {p}) > 0")

    def __init__(self, url: str, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(clock=clock)
        self.url = url
        self.path = sqlite_path(url)
        self._lock = threading.Lock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._cube = CubeTables(Sql(placeholder="?", skip_locked=""))
        self._compacted_at = 0.0
        self._decisions = GroupCommit(self._commit_decisions)
        self._chains: set[str] = set()  # sites whose chain this store knows is started
        self._configs: set[str] = set()  # banner configurations known to be stored
        try:
            self._writer = self._connect()
            use_wal(self._writer)
            self._writer.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
            self._migrate()
        except sqlite3.DatabaseError as error:
            raise ConfigurationError(
                f"store {url!r}: cannot open it as a SQLite database ({error})"
            ) from None
        self._checkpointer = WalCheckpointer(self.path)

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=30
        )
        # FULL: an acknowledged consent decision must survive a power cut, not only a crash.
        connection.execute("PRAGMA synchronous=FULL")
        return connection

    def _migrate(self) -> None:
        with self._lock:
            db = self._writer
            db.execute("BEGIN IMMEDIATE")
            try:
                # BEGIN IMMEDIATE is the lock: one process at a time migrates.
                current = migrate(db, spelling=SPELLING, placeholder="?")
                if current < LEDGER_CHAIN:
                    ledger.chain_unchained(db)
                if current < CUBE_BLOCKS:
                    move_old_cube(db, self._cube)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def write_pageviews(self, site: str, flushes: Sequence[Flush]) -> None:
        with self._cube_write("writing to") as db:
            self._cube.write(db, site, flushes, int(self.clock() // 3600))
        if self.clock() - self._compacted_at >= COMPACT_INTERVAL:
            # The flush is stored: a compaction that fails now is tried again later, and
            # must not make the flush look failed (its retry would count it twice).
            try:
                self.compact(site)
            except StoreError as error:
                logger.warning("consentkit: rolling up the cube failed; will retry: %s", error)
        self._checkpointer.request()

    def compact(self, site: str) -> None:
        """Roll up every block waiting (a flush's blocks are rolled up about every
        ``COMPACT_INTERVAL`` seconds; queries read the waiting ones meanwhile)."""
        self._compacted_at = self.clock()
        with self._cube_write("compacting") as db:
            self._cube.forget_writers(db, int(self.clock() // 3600))
        while True:
            with self._cube_write("compacting") as db:
                if not self._cube.compact(db, site, int(self.clock() // 3600)):
                    return

    @contextmanager
    def _cube_write(self, doing: str) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = self._writer
            try:
                # Counts are acknowledged to no one: a power cut may lose the last flush (it
                # never corrupts the file). Decisions are written with FULL (_ledger_write).
                db.execute("PRAGMA synchronous=NORMAL")
                db.execute("BEGIN IMMEDIATE")
                yield db
                db.execute("COMMIT")
            except (sqlite3.Error, StoreError) as error:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                self._cube.forget()  # numbers given out in the rolled-back transaction are void
                raise StoreError(f"{doing} {self.url} failed: {error}") from error

    @contextmanager
    def cube_reader(self) -> Iterator[CubeSnapshot]:
        with self._read() as db:
            yield CubeSnapshot(db, self._cube)

    def append_decision(
        self, record: DecisionRecord, tally: ConsentTally, config: str, *, retried: bool = False
    ) -> None:
        self._decisions.submit(Decision(record, tally, config, retried))

    def _commit_decisions(self, decisions: Sequence[Decision]) -> None:
        """One batch of decisions in one transaction: one sync of the file for all."""
        new = {d.record.site for d in decisions} - self._chains
        with self._ledger_write() as db:
            ledger.start_chains(db, new)
            ledger.append(db, decisions, known_configs=self._configs)
        self._chains |= new
        self._configs.update(d.record.config_hash for d in decisions)

    def verify_ledger(self, *, anchors: Collection[str] = ()) -> LedgerReport:
        with self._read() as db:
            return ledger.verify(db, anchors=anchors)

    def _chain_heads(self) -> tuple[str, dict[str, str]]:
        with self._read() as db:
            return ledger.chain_heads(db)

    def subject_records(self, site: str, subject: str) -> list[dict[str, Any]]:
        with self._read() as db:
            return ledger.visitor_records(db, site, subject)

    def erase_subject(self, site: str, subject: str) -> int:
        with self._ledger_write(secure_delete=True) as db:
            erased = ledger.erase(db, site, subject)
        if erased:
            self._truncate_wal()
        return erased

    @contextmanager
    def _ledger_write(self, *, secure_delete: bool = False) -> Iterator[sqlite3.Connection]:
        """A durable write transaction on the writer; ``secure_delete`` overwrites what it
        deletes with zeros instead of leaving it in the file's free space."""
        with self._lock:
            db = self._writer
            restore = db.execute("PRAGMA secure_delete").fetchone()[0] if secure_delete else None
            try:
                # FULL: an acknowledged consent decision must survive a power cut too.
                db.execute("PRAGMA synchronous=FULL")
                if secure_delete:
                    db.execute("PRAGMA secure_delete=ON")
                db.execute("BEGIN IMMEDIATE")
                yield db
                db.execute("COMMIT")
            except BaseException as error:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                if isinstance(error, sqlite3.Error):
                    raise StoreError(f"writing to {self.url} failed: {error}") from error
                raise
            finally:
                if restore is not None:
                    db.execute(f"PRAGMA secure_delete={int(restore)}")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: what it reads is one snapshot (the ledger's records and
        its head; the cube's roll-ups and the blocks not rolled up yet)."""
        db = self._reader()
        db.execute("BEGIN")
        try:
            yield db
        finally:
            db.execute("COMMIT")

    def _truncate_wal(self) -> None:
        """Copy the log into the database file and empty it: the log still holds the erased
        subjects in the page versions written before the erasure.

        A checkpoint running on another connection (the background checkpointer) makes this
        one answer busy at once, without waiting, so it is tried again for a while.
        """
        for _ in range(_TRUNCATE_ATTEMPTS):
            with self._lock:
                try:
                    busy = self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
                except sqlite3.Error:
                    busy = 1  # the erasure itself is committed; only the emptying failed
            if not busy:
                return
            time.sleep(_TRUNCATE_PAUSE)
        logger.warning(
            "consentkit: the write-ahead log of %s could not be emptied after an"
            " erasure (a long read?); it holds the erased subjects until the next"
            " erasure or `PRAGMA wal_checkpoint(TRUNCATE)`",
            self.url,
        )

    def _reader(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._connect()
            connection.execute("PRAGMA query_only=ON")
            self._local.connection = connection
            with self._lock:
                self._readers.append(connection)
        return connection

    def fetch(self, plan: Plan) -> Iterable[Sequence[Any]]:
        return self._reader().execute(plan.sql, plan.params).fetchall()

    def bot_pageviews(self, site: str, first_hour: int, end_hour: int) -> int:
        return self._hourly_sum("ck_bots", site, first_hour, end_hour)

    def dropped_pageviews(self, site: str, first_hour: int, end_hour: int) -> int:
        return self._hourly_sum("ck_dropped", site, first_hour, end_hour)

    def _hourly_sum(self, table: str, site: str, first_hour: int, end_hour: int) -> int:
        """The page views one of the per-hour tables holds for these hours."""
        row = (
            self._reader()
            .execute(
                f"SELECT COALESCE(SUM(pageviews), 0) FROM {table}"
                " WHERE site = ? AND hour >= ? AND hour < ?",
                (site, first_hour, end_hour),
            )
            .fetchone()
        )
        return int(row[0])

    def purge(self, cutoffs: dict[str, int]) -> dict[str, int]:
        with self._lock:
            db = self._writer
            db.execute("BEGIN IMMEDIATE")
            try:
                removed = purge_rows(
                    db, cutoffs, placeholder="?", purge_ledger=partial(purge_start, ledger)
                )
                db.execute("COMMIT")
            except sqlite3.Error as error:
                db.execute("ROLLBACK")
                raise StoreError(f"purging {self.url} failed: {error}") from error
        return removed

    def export(self, table: str) -> Iterator[dict[str, Any]]:
        with self._read() as db:
            if table == "pageviews":
                yield from exported_pageviews(
                    db.execute(BLOCKS_IN_ORDER), CubeSnapshot(db, self._cube)
                )
                return
            cursor = db.execute(EXPORTS[table])
            names = [d[0] for d in cursor.description]
            for row in cursor:
                yield exported(names, row)

    def close(self) -> None:
        self._checkpointer.close()
        with self._lock:
            for connection in [*self._readers, self._writer]:
                connection.close()
            self._readers.clear()
