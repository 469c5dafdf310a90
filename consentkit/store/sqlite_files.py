"""Opening a SQLite store's file: its URL, the write-ahead log, schema spellings."""

from __future__ import annotations

import os
import sqlite3
import time

from ..errors import ConfigurationError


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


def use_wal(db: sqlite3.Connection, *, attempts: int = 100) -> None:
    """Switch to WAL. Several processes opening a new file at once may find it locked
    (switching does not wait on SQLite's busy handler), so it is retried for a while."""
    for attempt in range(attempts):
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == attempts - 1:
                raise
            time.sleep(0.05)


SPELLING = {  # schema.py's placeholders, in SQLite
    "blob": "BLOB",
    "id": "INTEGER PRIMARY KEY AUTOINCREMENT",
    # one B-tree per cube instead of a table plus its key index
    "without_rowid": " WITHOUT ROWID",
}
