"""Connections to PostgreSQL: the store URL, a connection pool, and transactions that
turn driver errors into ``StoreError`` and take advisory locks.

A store URL is a libpq URL (``postgresql://`` or ``postgres://``, with any libpq parameter
such as ``sslmode`` or ``options=-csearch_path%3Dtenant``) plus these of consentkit's own,
removed before the URL reaches libpq:

* ``pool_min_size`` (default 1) and ``pool_max_size`` (default 4): connections each process
  keeps open and at most opens;
* ``pool_timeout`` (seconds, default 5): how long an operation waits for a connection
  before it fails with ``StoreError``;
* ``decision_timeout`` (seconds, default 1): the same for appending a consent decision,
  which a visitor waits for: against a database that is down or unreachable the decision
  spool takes it after this long, not after ``pool_timeout`` or ``connect_timeout``;
* ``prepare_threshold``: after how many runs a statement is prepared on the server (psycopg's
  default 5; ``none`` never prepares, for a pooler that cannot keep prepared statements).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool

from ..errors import ConfigurationError, StoreError

_POOL_OPTIONS: dict[str, float] = {
    "pool_min_size": 1,
    "pool_max_size": 4,
    "pool_timeout": 5,
    "decision_timeout": 1,
}
_SECONDS = ("pool_timeout", "decision_timeout")
_CONNECT_TIMEOUT = 5  # seconds, unless the URL says otherwise (libpq waits for ever)
_RECONNECT_TIMEOUT = 10.0


def _advisory(function: str) -> str:
    # Keyed by schema as well as by name: two installations in one database (or the tests'
    # schema per test) never wait for each other. A NULL schema would make the lock a
    # silent no-op, hence the coalesce.
    return f"SELECT {function}(hashtextextended(coalesce(current_schema(), '') || '/' || %s, 0))"


LOCK = _advisory("pg_advisory_xact_lock")
LOCK_SHARED = _advisory("pg_advisory_xact_lock_shared")


def safe_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def parse_url(url: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The libpq URL, the pool's options and the connections' options of a store URL."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    base, _, query = url.partition("?")
    kept, pool, connection = [], dict(_POOL_OPTIONS), {}
    for item in filter(None, query.split("&")):
        name, _, value = item.partition("=")
        if name in _SECONDS:
            pool[name] = _seconds(url, name, unquote(value))
        elif name in pool:
            pool[name] = _number(url, name, unquote(value))
        elif name == "prepare_threshold":
            text = unquote(value).lower()
            connection[name] = None if text == "none" else _number(url, name, text)
        else:
            kept.append(item)  # libpq's own, passed on exactly as written
    libpq = base + ("?" + "&".join(kept) if kept else "")
    try:
        settings = conninfo_to_dict(libpq)
    except psycopg.ProgrammingError as error:
        raise ConfigurationError(
            f"store {safe_url(url)!r}: not a PostgreSQL URL ({error})"
        ) from None
    if "connect_timeout" not in settings:
        connection["connect_timeout"] = _CONNECT_TIMEOUT
    if not 0 <= pool["pool_min_size"] <= pool["pool_max_size"] >= 1:
        raise ConfigurationError(
            f"store {safe_url(url)!r}: need 0 <= pool_min_size <= pool_max_size, and 1 or more"
        )
    return libpq, pool, connection


def _number(url: str, name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise ConfigurationError(f"store {safe_url(url)!r}: {name} must be a whole number >= 0")
    return number


def _seconds(url: str, name: str, value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise ConfigurationError(f"store {safe_url(url)!r}: {name} must be a number of seconds > 0")
    return seconds


def _close_soon(pool: ConnectionPool[Any]) -> None:
    """Close a pool whose owner was garbage-collected without closing it. The collection
    may happen on one of the pool's own threads, which cannot wait for itself to stop:
    away from the main thread the pool is closed from a thread of its own."""
    if threading.current_thread() is threading.main_thread():
        pool.close()
    else:
        threading.Thread(target=pool.close, name="consentkit-pool-close", daemon=True).start()


class Connections:
    """A pool of connections to one database, lent out one transaction at a time."""

    def __init__(self, url: str) -> None:
        libpq, pool, connection = parse_url(url)
        self.url = safe_url(url)
        self.decision_timeout = pool["decision_timeout"]
        self._pool = ConnectionPool(
            libpq,
            kwargs=connection,
            min_size=int(pool["pool_min_size"]),
            max_size=int(pool["pool_max_size"]),
            timeout=pool["pool_timeout"],
            # a connection that died while idle (server restart, pooler timeout) is
            # replaced before it is lent, not discovered by a failing flush
            check=ConnectionPool.check_connection,
            # While the server is down, new connections are tried with a growing delay
            # (1, 2, 4 s...) for this long, then afresh at the next use: the store is back
            # within seconds of the server, not minutes.
            reconnect_timeout=_RECONNECT_TIMEOUT,
            open=False,
            name="consentkit",
        )
        self._pool.open()
        self._finalizer = weakref.finalize(self, _close_soon, self._pool)

    @contextmanager
    def transaction(
        self, doing: str, *, timeout: float | None = None
    ) -> Iterator[psycopg.Connection[Any]]:
        """One transaction on a pooled connection: committed when the block ends, rolled
        back if it raises; a driver error becomes ``StoreError`` ("``doing`` ... failed").
        ``timeout``: how long to wait for a connection, if not the pool's ``pool_timeout``."""
        try:
            with self._pool.connection(timeout=timeout) as connection:
                yield connection
        except psycopg.Error as error:
            raise StoreError(f"{doing} {self.url} failed: {error}") from error

    def close(self) -> None:
        """Close every connection; the pool's threads stop."""
        self._finalizer.detach()
        self._pool.close()
