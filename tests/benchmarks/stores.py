"""The store a benchmark runs on: SQLite by default, PostgreSQL when asked for.

    CONSENTKIT_BENCH_STORE=postgresql://postgres@127.0.0.1/test python tests/benchmarks/...

On PostgreSQL a benchmark works in a schema of its own in that database: a fresh one dropped
afterwards (``fresh_store_url``), or a named one kept for later runs (``kept_store_url``),
selected through the URL's ``search_path``.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BENCH_STORE = os.environ.get("CONSENTKIT_BENCH_STORE", "sqlite")
POSTGRES = BENCH_STORE.startswith(("postgresql:", "postgres:"))


def backend_name() -> str:
    return "PostgreSQL" if POSTGRES else "SQLite"


def schema_url(base: str, schema: str) -> str:
    """``base`` with its tables in ``schema``."""
    return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"


def _admin(sql: str, base: str = BENCH_STORE) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(sql)


@contextmanager
def fresh_store_url(name: str, *, postgres: str | None = None) -> Iterator[str]:
    """An empty store for one run: a new SQLite file, or a new schema in the PostgreSQL
    database of CONSENTKIT_BENCH_STORE (or of ``postgres``, whatever that says)."""
    base = postgres or (BENCH_STORE if POSTGRES else None)
    if base is None:
        yield f"sqlite:///{Path(tempfile.mkdtemp()) / f'{name}.sqlite3'}"
        return
    schema = f"ck_bench_{name}_{os.getpid()}"
    _admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}", base)
    try:
        yield schema_url(base, schema)
    finally:
        _admin(f"DROP SCHEMA {schema} CASCADE", base)


def kept_store_url(name: str) -> tuple[str, bool]:
    """A store kept between runs (a file in the temporary directory, or a schema), and
    whether it holds a finished build already; an unfinished one is emptied."""
    if not POSTGRES:
        path = Path(tempfile.gettempdir()) / f"consentkit-bench-{name}.sqlite3"
        return f"sqlite:///{path}", path.exists()
    schema = f"ck_bench_{name}"
    url = schema_url(BENCH_STORE, schema)
    try:
        built = rows(url, "SELECT COUNT(*) FROM ck_bench_built")[0][0] > 0
    except Exception:  # no schema, or a build that did not finish
        built = False
    if not built:
        _admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
    return url, built


def mark_built(url: str) -> None:
    """Remember that the kept store at ``url`` was built to the end."""
    if POSTGRES:
        import psycopg

        with psycopg.connect(url) as db:
            db.execute("CREATE TABLE ck_bench_built AS SELECT 1 AS done")


def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    """The rows of one query, run on the store's database directly."""
    if not url.startswith(("postgresql:", "postgres:")):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            return db.execute(sql).fetchall()
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:  # autocommit: VACUUM may be asked
        cursor = db.execute(sql)
        return cursor.fetchall() if cursor.description is not None else []
