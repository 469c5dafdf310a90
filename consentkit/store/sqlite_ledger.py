"""The consent ledger on SQLite (the SQL itself is shared: ``ledger_rows.py``).

Writes run inside the store's ``BEGIN IMMEDIATE``, so the previous chain hash read when
appending is still the last one when the new record is written: no row lock is needed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from .ledger_rows import LedgerRows


class LedgerHeadMissing(sqlite3.DatabaseError):
    """The one row of ck_ledger_head is gone: nothing can be appended until it is restored,
    since a chain continued from a guess would hide what removed it."""


def _stream(db: sqlite3.Connection, sql: str) -> Iterable[Sequence[Any]]:
    return db.execute(sql)


def _executemany(db: sqlite3.Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    db.executemany(sql, rows)


LEDGER = LedgerRows(
    placeholder="?",
    lock_head="",
    head_missing=LedgerHeadMissing,
    stream=_stream,
    executemany=_executemany,
)
