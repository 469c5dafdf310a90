"""Deleting rows past their retention, in the transaction a store opened (both backends)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .retention import TABLES


def purge_rows(
    db: Any,
    cutoffs: dict[str, int],
    *,
    placeholder: str,
    purge_ledger: Callable[[Any, int], int],
) -> dict[str, int]:
    """Delete, per table, the rows older than its cutoff (see retention.py); count them.

    The ledger loses only a prefix of its chain (``purge_ledger``), so that it still
    verifies; the daily roll-ups go with the last whole day of page views purged.
    """
    removed = {}
    for name, cutoff in cutoffs.items():
        if name == "decisions":
            removed[name] = purge_ledger(db, cutoff)
            continue
        table, column, _ = TABLES[name]
        cursor = db.execute(f"DELETE FROM {table} WHERE {column} < {placeholder}", (cutoff,))
        removed[name] = int(cursor.rowcount)
        if name == "pageviews":
            db.execute(f"DELETE FROM ck_rollups WHERE day < {placeholder}", (cutoff // 24,))
            db.execute(f"DELETE FROM ck_dropped WHERE hour < {placeholder}", (cutoff,))
    return removed
