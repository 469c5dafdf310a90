"""The migration runner both backends share: it brings a database to the newest schema.

The runner works inside a transaction that the backend has opened and locked so that one
process at a time migrates: SQLite's ``BEGIN IMMEDIATE`` (the database's single writer
lock), PostgreSQL's ``pg_advisory_xact_lock``. Many workers starting at once therefore
migrate exactly once: the first applies what is missing, the others then find the newest
version already recorded and apply nothing. Since the version table and every migration are
written in that one transaction, a migration that fails leaves the database as it was.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from .schema import MIGRATIONS

VERSION_TABLE = "CREATE TABLE IF NOT EXISTS ck_schema (version INTEGER NOT NULL)"


class _Rows(Protocol):
    def fetchone(self) -> Any: ...


class Connection(Protocol):
    """What the runner needs of a connection: sqlite3's and psycopg's both have it."""

    def execute(self, sql: str, params: Sequence[Any], /) -> _Rows: ...


def migrate(db: Connection, *, spelling: Mapping[str, str], placeholder: str) -> int:
    """Apply every migration newer than the database's version, in order, in the caller's
    locked transaction, and record each version applied.

    ``spelling`` gives the backend's words for the placeholders in ``schema.py`` (``blob``,
    ``id``, ``without_rowid``); ``placeholder`` is its parameter marker. Returns the version
    the database had before, 0 for a new one, so that the backend can finish work that a
    migration leaves to code (such as chaining the ledger rows written before version 3).
    """
    db.execute(VERSION_TABLE, ())
    current = int(db.execute("SELECT MAX(version) FROM ck_schema", ()).fetchone()[0] or 0)
    for version, statements in MIGRATIONS:
        if version <= current:
            continue
        for statement in statements:
            db.execute(statement.format(**spelling), ())
        db.execute(f"INSERT INTO ck_schema (version) VALUES ({placeholder})", (version,))
    return current
