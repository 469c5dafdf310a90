"""The consent ledger on PostgreSQL (the SQL itself is shared: ``ledger_rows.py``).

Any number of processes append, so every write to the chain first locks the one row of
``ck_ledger_head`` (``FOR UPDATE``): appends from all processes follow each other, each
reading the head its predecessor committed, and the chain stays one line. Verification
streams the records from a server-side cursor, so a ledger of millions of records is never
held in memory at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import psycopg

from .ledger_rows import LedgerRows

Connection = psycopg.Connection[Any]


class LedgerHeadMissing(psycopg.DatabaseError):
    """The one row of ck_ledger_head is gone: nothing can be appended until it is restored,
    since a chain continued from a guess would hide what removed it."""


def _stream(db: Connection, sql: str) -> Iterator[Sequence[Any]]:
    with db.cursor(name="ck_ledger_records") as cursor:
        cursor.itersize = 5000
        cursor.execute(sql)
        yield from cursor


def _executemany(db: Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    with db.cursor() as cursor:
        cursor.executemany(sql, rows)


LEDGER = LedgerRows(
    placeholder="%s",
    lock_head=" FOR UPDATE",
    head_missing=LedgerHeadMissing,
    stream=_stream,
    executemany=_executemany,
)
