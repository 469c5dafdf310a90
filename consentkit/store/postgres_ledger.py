"""The consent ledger's SQL for PostgreSQL: appending to the hash chain, reading it back,
a visitor's records and their erasure, and cutting the chain's start for retention.

The same rows and the same hashing (``consentkit.ledger``) as ``sqlite_ledger.py``; what
differs is how writers are kept in order. Any number of processes append, so every write to
the chain first locks the one row of ``ck_ledger_head`` (``FOR UPDATE``): appends from all
processes follow each other, each reading the head its predecessor committed, and the chain
stays one line. Reads run in one ``REPEATABLE READ`` transaction (see the store), so
records and head are one snapshot even while others append.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg

from ..ledger import (
    ChainHead,
    LedgerEntry,
    categories_from_text,
    categories_text,
    chain_hash,
    ledger_entry,
    new_salt,
    subject_commitment,
    visitor_record,
)
from ..ledger_verify import StoredRecord
from ..records import DecisionRecord

Connection = psycopg.Connection[Any]

_FIELDS = "site, subject, decided_at, policy_version, action, categories, language, config_hash"
_CHAIN = "seq, salt, commitment, chain_hash"
_INSERT = (
    f"INSERT INTO ck_decisions ({_FIELDS}, {_CHAIN})"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_READ_HEAD = "SELECT records, head, purged, base FROM ck_ledger_head WHERE id = 1"
_MOVE_HEAD = "UPDATE ck_ledger_head SET records = %s, head = %s WHERE id = 1"
_ROWS = f"SELECT id, {_FIELDS}, {_CHAIN} FROM ck_decisions"
_BATCH = 1000  # rows chained per statement when an older database is migrated
# An erased record's subject is '' (NOT NULL since version 1): it never selects anything.
_VISITOR = """
SELECT d.decided_at, d.policy_version, d.action, d.categories, d.language, d.config_hash,
    c.config
FROM ck_decisions d LEFT JOIN ck_banner_configs c ON c.config_hash = d.config_hash
WHERE d.site = %s AND d.subject = %s AND d.subject <> ''
ORDER BY d.decided_at, d.id
"""
_ERASE = """
UPDATE ck_decisions SET subject = '', salt = NULL
WHERE site = %s AND subject = %s AND subject <> ''
"""


class LedgerHeadMissing(psycopg.DatabaseError):
    """The one row of ck_ledger_head is gone: nothing can be appended until it is restored,
    since a chain continued from a guess would hide what removed it."""


def read_head(db: Connection, *, for_update: bool = False) -> ChainHead | None:
    """The chain head, or None when its row was deleted; ``for_update`` locks it until the
    transaction ends, which is what keeps concurrent writers of the chain in line."""
    row = db.execute(_READ_HEAD + (" FOR UPDATE" if for_update else "")).fetchone()
    return ChainHead(*row) if row else None


def _locked_head(db: Connection) -> ChainHead:
    head = read_head(db, for_update=True)
    if head is None:
        raise LedgerHeadMissing(
            "the consent ledger's chain head (table ck_ledger_head) is missing; "
            "run `consentkit ledger verify` and restore it from a backup"
        )
    return head


def append(db: Connection, record: DecisionRecord) -> None:
    """Append ``record`` to the chain and move the head, in the caller's transaction."""
    head = _locked_head(db)
    salt = new_salt()
    entry = ledger_entry(
        record, position=head.records + 1, commitment=subject_commitment(salt, record.subject)
    )
    chain = chain_hash(head.head, entry)
    db.execute(_INSERT, (*_row_values(record), entry.position, salt, entry.commitment, chain))
    db.execute(_MOVE_HEAD, (entry.position, chain))


def lock_chain(db: Connection) -> None:
    """Wait for appends in flight and hold further ones until this transaction ends."""
    db.execute(_READ_HEAD + " FOR UPDATE")


def _row_values(record: DecisionRecord) -> tuple[Any, ...]:
    return (
        record.site, record.subject, record.decided_at, record.policy_version, record.action,
        categories_text(record.categories), record.language, record.config_hash,
    )


def chain_unchained(db: Connection) -> None:
    """Chain the rows a database held before the ledger was a chain, in id order: each gets
    its position, a salt and commitment, and its chain hash; the head moves past them."""
    head = read_head(db, for_update=True)
    if head is None:
        return  # nothing to continue from; verification reports the missing head
    position, previous, after = head.records, head.head, 0
    while rows := db.execute(
        f"{_ROWS} WHERE chain_hash IS NULL AND id > %s ORDER BY id LIMIT {_BATCH}", (after,)
    ).fetchall():
        updates = []
        for row in rows:
            position += 1
            salt = new_salt()
            record = DecisionRecord(row[1], row[2], row[3], row[4], row[5],
                                    categories_from_text(row[6]), row[7], row[8])
            entry = ledger_entry(
                record, position=position, commitment=subject_commitment(salt, record.subject)
            )
            previous = chain_hash(previous, entry)
            updates.append((position, salt, entry.commitment, previous, row[0]))
        with db.cursor() as cursor:
            cursor.executemany(
                "UPDATE ck_decisions SET seq = %s, salt = %s, commitment = %s,"
                " chain_hash = %s WHERE id = %s",
                updates,
            )
        after = rows[-1][0]
    db.execute(_MOVE_HEAD, (position, previous))


def stored_records(db: Connection) -> Iterator[StoredRecord]:
    """Every record in ledger order, as verification reads it: streamed from a server-side
    cursor, so a ledger of millions of records is never held in memory at once."""
    with db.cursor(name="ck_ledger_records") as cursor:
        cursor.itersize = 5000
        cursor.execute(f"{_ROWS} ORDER BY id")
        for row in cursor:
            (id_, site, subject, decided_at, policy_version, action, categories, language,
             config_hash, seq, salt, commitment, chain) = row
            entry = LedgerEntry(
                position=seq or 0, site=site, commitment=commitment or "",
                decided_at=decided_at, policy_version=policy_version, action=action,
                categories=categories_from_text(categories), language=language,
                config_hash=config_hash,
            )
            yield StoredRecord(id_, entry, chain, subject or None, salt)


def banner_configs(db: Connection) -> dict[str, str]:
    """Every stored banner configuration by its hash (one per distinct banner: few)."""
    rows = db.execute("SELECT config_hash, config FROM ck_banner_configs").fetchall()
    return {config_hash: config for config_hash, config in rows}


def visitor_records(db: Connection, site: str, subject: str) -> list[dict[str, Any]]:
    """The records of one subject that are not erased, oldest first, as the visitor sees
    them."""
    return [
        visitor_record(
            decided_at=decided_at, policy_version=policy_version, action=action,
            categories=categories_from_text(categories), language=language,
            config_hash=config_hash, config=config,
        )
        for decided_at, policy_version, action, categories, language, config_hash, config
        in db.execute(_VISITOR, (site, subject))
    ]


def erase(db: Connection, site: str, subject: str) -> int:
    """Delete the subject and salt of each of the subject's records; count them. What the
    chain covers (the commitment among it) stays, so the chain still verifies."""
    return db.execute(_ERASE, (site, subject)).rowcount


def purge_start(db: Connection, cutoff: int) -> int:
    """Remove records decided before ``cutoff`` (Unix seconds) from the start of the chain,
    and remember the last one removed as the chain's base; count them.

    Only a prefix is removed: if the clock went back, a record older than the cutoff that
    follows a newer one stays until that one is purged too, rather than leaving a hole that
    verification could not tell from tampering.
    """
    lock_chain(db)
    young = db.execute(
        "SELECT MIN(id) FROM ck_decisions WHERE decided_at >= %s", (cutoff,)
    ).fetchone()
    last = db.execute(
        "SELECT id, seq, chain_hash FROM ck_decisions WHERE id < COALESCE(%s, id + 1)"
        " ORDER BY id DESC LIMIT 1",
        (young[0] if young else None,),
    ).fetchone()
    if last is None:
        return 0
    removed = db.execute("DELETE FROM ck_decisions WHERE id <= %s", (last[0],)).rowcount
    if last[2] is not None:
        db.execute("UPDATE ck_ledger_head SET purged = %s, base = %s WHERE id = 1", last[1:])
    return removed
