"""Stores: SQLite embedded by default; a URL chooses the backend."""

from __future__ import annotations

import time
from collections.abc import Callable

from ..errors import ConfigurationError
from .base import Store


def open_store(url: str, *, clock: Callable[[], float] = time.time) -> Store:
    """Open (and migrate) the store at ``url``: ``sqlite:///path/to/file.sqlite3``, or
    ``postgresql://user@host/dbname`` (also ``postgres://``) for a database that many
    processes share (``pip install 'consentkit[postgresql]'``)."""
    if not isinstance(url, str):
        raise ConfigurationError(f"store must be a URL string, got {url!r}")
    if url.startswith("sqlite:"):
        from .sqlite import SQLiteStore

        return SQLiteStore(url, clock=clock)
    if url.startswith(("postgresql:", "postgres:")):
        try:
            from .postgres import PostgresStore
        except ImportError as error:  # the driver is an optional dependency
            raise ConfigurationError(
                f"a PostgreSQL store needs its driver ({error.name} is not installed):"
                " pip install 'consentkit[postgresql]'"
            ) from None
        return PostgresStore(url, clock=clock)
    raise ConfigurationError(
        f"store {url!r}: unsupported URL; use sqlite:///path/to/file.sqlite3 or"
        " postgresql://user@host/dbname"
    )


__all__ = ["Store", "open_store"]
