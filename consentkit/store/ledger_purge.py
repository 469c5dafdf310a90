"""Retention of the consent ledger: records older than the cutoff leave the start of each
chain (the shared chain of before per-site chains, then every site's), and the last one
removed becomes the chain's base, so that verification still checks what remains."""

from __future__ import annotations

from typing import Any

from .ledger_rows import FIRST_CHAIN, READ_HEAD, SITE_CHAINS, LedgerRows


def purge_start(rows: LedgerRows, db: Any, cutoff: int) -> int:
    """Remove records decided before ``cutoff`` (Unix seconds) from the start of each
    chain, and remember the last one removed as the chain's base; count them.

    Only a prefix is removed: if the clock went back, a record older than the cutoff
    that follows a newer one stays until that one is purged too, rather than leaving a
    hole that verification could not tell from tampering.
    """
    db.execute(READ_HEAD + rows.lock_head)  # no append in between
    removed = _purge_chain(
        rows,
        db,
        cutoff,
        FIRST_CHAIN,
        (),
        "UPDATE ck_ledger_head SET purged = ?, base = ? WHERE id = 1",
    )
    sites = db.execute(f"SELECT site FROM ck_ledger_heads ORDER BY site{rows.lock_head}")
    for (site,) in sites.fetchall():
        removed += _purge_chain(
            rows,
            db,
            cutoff,
            f"site = ? AND {SITE_CHAINS}",
            (site,),
            "UPDATE ck_ledger_heads SET purged = ?, base = ? WHERE site = ?",
        )
    return removed


def _purge_chain(
    rows: LedgerRows, db: Any, cutoff: int, chain: str, where: tuple[str, ...], move_base: str
) -> int:
    young = db.execute(
        rows.sql(f"SELECT MIN(id) FROM ck_decisions WHERE {chain} AND decided_at >= ?"),
        (*where, cutoff),
    ).fetchone()
    last = db.execute(
        rows.sql(
            f"SELECT id, seq, chain_hash FROM ck_decisions WHERE {chain}"
            " AND id < COALESCE(?, id + 1) ORDER BY id DESC LIMIT 1"
        ),
        (*where, young[0] if young else None),
    ).fetchone()
    if last is None:
        return 0
    removed = db.execute(
        rows.sql(f"DELETE FROM ck_decisions WHERE {chain} AND id <= ?"), (*where, last[0])
    ).rowcount
    if last[2] is not None:
        db.execute(rows.sql(move_base), (*last[1:], *where))
    return int(removed)
