"""The SQLite store: one file in WAL mode, the embedded default.

Writes go through one connection under a lock (SQLite has one writer at a time anyway);
each reading thread gets its own connection so queries never wait for a flush.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from ..errors import ConfigurationError, StoreError
from ..query.plan import Dialect, Plan
from ..records import ConsentTally, CubeDelta, DecisionRecord
from ..retention import TABLES
from ..rollups import Rollup, daily_rollups
from ..sketch import DistinctSketch, merge_bytes, union
from .base import Store
from .export import EXPORTS, hour_label
from .schema import MIGRATIONS

_UPSERT_CELL = """
INSERT INTO ck_pageviews
    (site, hour, country, device, browser, os, page, pageviews, anonymous_pageviews, visitors)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (site, hour, country, device, browser, os, page) DO UPDATE SET
    pageviews = ck_pageviews.pageviews + excluded.pageviews,
    anonymous_pageviews = ck_pageviews.anonymous_pageviews + excluded.anonymous_pageviews,
    visitors = ck_merge(ck_pageviews.visitors, excluded.visitors)
"""
_UPSERT_DAILY = """
INSERT INTO ck_daily (site, day, kind, value, pageviews, visitors) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (site, day, kind, value) DO UPDATE SET
    pageviews = ck_daily.pageviews + excluded.pageviews,
    visitors = ck_merge(ck_daily.visitors, excluded.visitors)
"""
_UPSERT_BOTS = """
INSERT INTO ck_bots (site, hour, pageviews) VALUES (?, ?, ?)
ON CONFLICT (site, hour) DO UPDATE SET pageviews = ck_bots.pageviews + excluded.pageviews
"""
_UPSERT_CONSENT = """
INSERT INTO ck_consent_stats
    (site, hour, country, device, browser, action, category, decisions, granted)
VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)
ON CONFLICT (site, hour, country, device, browser, action, category) DO UPDATE SET
    decisions = ck_consent_stats.decisions + 1,
    granted = ck_consent_stats.granted + excluded.granted
"""


def sqlite_path(url: str) -> str:
    """``sqlite:///relative.sqlite3`` or ``sqlite:////absolute/path.sqlite3``."""
    if not url.startswith("sqlite:///"):
        raise ConfigurationError(
            f"store {url!r}: a SQLite URL has three slashes: sqlite:///consentkit.sqlite3"
        )
    path = url[len("sqlite:///") :]
    if not path or path == ":memory:":
        raise ConfigurationError(
            f"store {url!r}: give a file path; an in-memory database would lose every count"
        )
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ConfigurationError(f"store {url!r}: the directory {directory!r} does not exist")
    return path


def _merge(a: bytes | None, b: bytes | None) -> bytes:
    if not a:
        return b or b""
    if not b:
        return a
    return merge_bytes(a, b)


class _Union:
    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def step(self, value: bytes | None) -> None:
        if value:
            self.parts.append(value)

    def finalize(self) -> bytes:
        return union(self.parts).to_bytes() if self.parts else DistinctSketch().to_bytes()


class SQLiteStore(Store):
    dialect = Dialect(placeholder="?", contains="instr({column}, {p}) > 0", union="ck_union")

    def __init__(self, url: str, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(clock=clock)
        self.url = url
        self.path = sqlite_path(url)
        self._lock = threading.Lock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        try:
            self._writer = self._connect()
            self._writer.execute("PRAGMA journal_mode=WAL")
            self._migrate()
        except sqlite3.DatabaseError as error:
            raise ConfigurationError(
                f"store {url!r}: cannot open it as a SQLite database ({error})"
            ) from None

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=30
        )
        # FULL: an acknowledged consent decision must survive a power cut, not only a crash.
        connection.execute("PRAGMA synchronous=FULL")
        connection.create_function("ck_merge", 2, _merge, deterministic=True)
        connection.create_aggregate("ck_union", 1, _Union)  # type: ignore[arg-type]
        return connection

    def _migrate(self) -> None:
        with self._lock:
            db = self._writer
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("CREATE TABLE IF NOT EXISTS ck_schema (version INTEGER NOT NULL)")
                row = db.execute("SELECT MAX(version) FROM ck_schema").fetchone()
                current = row[0] or 0
                for version, statements in MIGRATIONS:
                    if version <= current:
                        continue
                    for statement in statements:
                        db.execute(
                            statement.format(
                                blob="BLOB",
                                id="INTEGER PRIMARY KEY AUTOINCREMENT",
                                # one B-tree per cube instead of a table plus its key index
                                without_rowid=" WITHOUT ROWID",
                            )
                        )
                    db.execute("INSERT INTO ck_schema (version) VALUES (?)", (version,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def _write(self, statements: Iterable[tuple[str, Sequence[Any] | list[Sequence[Any]]]]) -> None:
        with self._lock:
            db = self._writer
            try:
                db.execute("BEGIN IMMEDIATE")
                for sql, params in statements:
                    if params and isinstance(params, list):
                        db.executemany(sql, params)
                    else:
                        db.execute(sql, params)
                db.execute("COMMIT")
            except sqlite3.Error as error:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise StoreError(f"writing to {self.url} failed: {error}") from error

    def write_pageviews(
        self,
        site: str,
        cells: Sequence[CubeDelta],
        bots: Sequence[tuple[int, int]],
        rollups: Sequence[Rollup] | None = None,
    ) -> None:
        rows = [
            (site, c.key.hour, c.key.country, c.key.device, c.key.browser, c.key.os, c.key.page,
             c.pageviews, c.anonymous_pageviews, c.visitors)
            for c in cells
        ]
        statements: list[tuple[str, Sequence[Any] | list[Sequence[Any]]]] = []
        if rows:
            statements.append((_UPSERT_CELL, rows))
            if rollups is None:
                rollups = daily_rollups(cells)
            daily = [(site, *rollup) for rollup in rollups]
            statements.append((_UPSERT_DAILY, daily))
        if bots:
            statements.append((_UPSERT_BOTS, [(site, hour, n) for hour, n in bots]))
        if statements:
            self._write(statements)

    def append_decision(self, record: DecisionRecord, tally: ConsentTally, config: str) -> None:
        place = (record.site, tally.hour, tally.country, tally.device, tally.browser, tally.action)
        stats = [(*place, "*", 0)] + [
            (*place, name, int(name in tally.granted)) for name in tally.offered
        ]
        self._write([
            (
                "INSERT INTO ck_banner_configs (config_hash, config) VALUES (?, ?)"
                " ON CONFLICT (config_hash) DO NOTHING",
                (record.config_hash, config),
            ),
            (
                "INSERT INTO ck_decisions (site, subject, decided_at, policy_version, action,"
                " categories, language, config_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (record.site, record.subject, record.decided_at, record.policy_version,
                 record.action, " ".join(record.categories), record.language, record.config_hash),
            ),
            (_UPSERT_CONSENT, stats),
        ])

    def _reader(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._connect()
            connection.execute("PRAGMA query_only=ON")
            self._local.connection = connection
            with self._lock:
                self._readers.append(connection)
        return connection

    def _fetch(self, plan: Plan) -> Iterable[Sequence[Any]]:
        return self._reader().execute(plan.sql, plan.params).fetchall()

    def _bot_pageviews(self, site: str, first_hour: int, end_hour: int) -> int:
        row = self._reader().execute(
            "SELECT COALESCE(SUM(pageviews), 0) FROM ck_bots"
            " WHERE site = ? AND hour >= ? AND hour < ?",
            (site, first_hour, end_hour),
        ).fetchone()
        return int(row[0])

    def purge(self, cutoffs: dict[str, int]) -> dict[str, int]:
        removed = {}
        with self._lock:
            db = self._writer
            db.execute("BEGIN IMMEDIATE")
            try:
                for name, cutoff in cutoffs.items():
                    table, column, _ = TABLES[name]
                    cursor = db.execute(f"DELETE FROM {table} WHERE {column} < ?", (cutoff,))
                    removed[name] = cursor.rowcount
                    if name == "pageviews":  # roll-ups of days wholly before the cutoff
                        db.execute("DELETE FROM ck_daily WHERE day < ?", (cutoff // 24,))
                db.execute("COMMIT")
            except sqlite3.Error as error:
                db.execute("ROLLBACK")
                raise StoreError(f"purging {self.url} failed: {error}") from error
        return removed

    def export(self, table: str) -> Iterator[dict[str, Any]]:
        sql = EXPORTS[table]
        cursor = self._reader().execute(sql)
        names = [d[0] for d in cursor.description]
        for row in cursor:
            record = dict(zip(names, row, strict=True))
            if "visitors" in record:
                record["visitors"] = DistinctSketch.from_bytes(record["visitors"]).estimate()
            record["hour"] = hour_label(record["hour"])
            yield record

    def close(self) -> None:
        with self._lock:
            for connection in [*self._readers, self._writer]:
                connection.close()
            self._readers.clear()
