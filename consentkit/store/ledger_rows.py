"""The consent ledger's rows, for every backend: appending to the hash chain, reading it
back, a visitor's records and their erasure, and cutting the chain's start for retention.

Every method takes the connection of a transaction the store opened. Writers are kept in
order by the store's write transaction (SQLite's ``BEGIN IMMEDIATE``) or, where many
processes append at once (PostgreSQL), by locking the one row of ``ck_ledger_head``
(``lock_head=" FOR UPDATE"``): each append reads the head its predecessor committed, so the
chain stays one line. Reads run in one snapshot (see the stores), so records and head agree.
The hashing itself is in ``consentkit.ledger``; a backend module (``sqlite_ledger.py``,
``postgres_ledger.py``) only says how its driver spells things.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..ledger.chain import (
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
from ..ledger.records import DecisionRecord
from ..ledger.verify import StoredRecord

_FIELDS = "site, subject, decided_at, policy_version, action, categories, language, config_hash"
_CHAIN = "seq, salt, commitment, chain_hash"
_INSERT = (
    f"INSERT INTO ck_decisions ({_FIELDS}, {_CHAIN}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_READ_HEAD = "SELECT records, head, purged, base FROM ck_ledger_head WHERE id = 1"
_MOVE_HEAD = "UPDATE ck_ledger_head SET records = ?, head = ? WHERE id = 1"
_ROWS = f"SELECT id, {_FIELDS}, {_CHAIN} FROM ck_decisions"
_BATCH = 1000  # rows chained per statement when an older database is migrated
# A visitor's records: an erased record's subject is '' (the column is NOT NULL since
# version 1), so the empty subject must never select anything.
_VISITOR = """
SELECT d.decided_at, d.policy_version, d.action, d.categories, d.language, d.config_hash,
    c.config
FROM ck_decisions d LEFT JOIN ck_banner_configs c ON c.config_hash = d.config_hash
WHERE d.site = ? AND d.subject = ? AND d.subject <> ''
ORDER BY d.decided_at, d.id
"""
_ERASE = """
UPDATE ck_decisions SET subject = '', salt = NULL
WHERE site = ? AND subject = ? AND subject <> ''
"""
_CHAINED = "UPDATE ck_decisions SET seq = ?, salt = ?, commitment = ?, chain_hash = ? WHERE id = ?"
HEAD_MISSING = (
    "the consent ledger's chain head (table ck_ledger_head) is missing; "
    "run `consentkit ledger verify` and restore it from a backup"
)


@dataclass(frozen=True, slots=True)
class LedgerRows:
    """The ledger's SQL as one backend's driver runs it."""

    placeholder: str  # "?" or "%s": the SQL above is written with "?"
    lock_head: str  # appended to the head's SELECT by every writer of the chain
    head_missing: type[Exception]  # a driver error, so the store's error handling applies
    stream: Callable[[Any, str], Iterable[Sequence[Any]]]  # rows of a long query, in order
    executemany: Callable[[Any, str, list[tuple[Any, ...]]], None]

    def _sql(self, text: str) -> str:
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)

    def read_head(self, db: Any) -> ChainHead | None:
        """The chain head, or None when its row was deleted."""
        row = db.execute(_READ_HEAD).fetchone()
        return ChainHead(*row) if row else None

    def lock_chain(self, db: Any) -> ChainHead:
        """The chain head, held until the transaction ends: appends in flight finish first,
        further ones wait."""
        row = db.execute(_READ_HEAD + self.lock_head).fetchone()
        if row is None:
            raise self.head_missing(HEAD_MISSING)
        return ChainHead(*row)

    def append(self, db: Any, record: DecisionRecord) -> None:
        """Append ``record`` to the chain and move the head, in the caller's transaction."""
        head = self.lock_chain(db)
        salt = new_salt()
        entry = ledger_entry(
            record,
            position=head.records + 1,
            commitment=subject_commitment(salt, record.subject),
        )
        chain = chain_hash(head.head, entry)
        values = (*_row_values(record), entry.position, salt, entry.commitment, chain)
        db.execute(self._sql(_INSERT), values)
        db.execute(self._sql(_MOVE_HEAD), (entry.position, chain))

    def chain_unchained(self, db: Any) -> None:
        """Chain the rows a database held before the ledger was a chain, in id order: each
        gets its position, a salt and commitment, and its chain hash; the head moves past
        them."""
        try:
            head = self.lock_chain(db)
        except self.head_missing:
            return  # nothing to continue from; verification reports the missing head
        position, previous, after = head.records, head.head, 0
        batch = self._sql(f"{_ROWS} WHERE chain_hash IS NULL AND id > ? ORDER BY id LIMIT {_BATCH}")
        while rows := db.execute(batch, (after,)).fetchall():
            updates = []
            for row in rows:
                position += 1
                salt = new_salt()
                record = DecisionRecord(
                    row[1],
                    row[2],
                    row[3],
                    row[4],
                    row[5],
                    categories_from_text(row[6]),
                    row[7],
                    row[8],
                )
                entry = ledger_entry(
                    record,
                    position=position,
                    commitment=subject_commitment(salt, record.subject),
                )
                previous = chain_hash(previous, entry)
                updates.append((position, salt, entry.commitment, previous, row[0]))
            self.executemany(db, self._sql(_CHAINED), updates)
            after = rows[-1][0]
        db.execute(self._sql(_MOVE_HEAD), (position, previous))

    def stored_records(self, db: Any) -> Iterator[StoredRecord]:
        """Every record in ledger order, as verification reads it (streamed)."""
        for row in self.stream(db, f"{_ROWS} ORDER BY id"):
            (
                id_,
                site,
                subject,
                decided_at,
                policy_version,
                action,
                categories,
                language,
                config_hash,
                seq,
                salt,
                commitment,
                chain,
            ) = row
            entry = LedgerEntry(
                position=seq or 0,
                site=site,
                commitment=commitment or "",
                decided_at=decided_at,
                policy_version=policy_version,
                action=action,
                categories=categories_from_text(categories),
                language=language,
                config_hash=config_hash,
            )
            yield StoredRecord(id_, entry, chain, subject or None, salt)

    def banner_configs(self, db: Any) -> dict[str, str]:
        """Every stored banner configuration by its hash (one per distinct banner: few)."""
        rows = db.execute("SELECT config_hash, config FROM ck_banner_configs").fetchall()
        return {config_hash: config for config_hash, config in rows}

    def visitor_records(self, db: Any, site: str, subject: str) -> list[dict[str, Any]]:
        """The records of one subject that are not erased, oldest first, as the visitor
        sees them."""
        return [
            visitor_record(
                decided_at=decided_at,
                policy_version=policy_version,
                action=action,
                categories=categories_from_text(categories),
                language=language,
                config_hash=config_hash,
                config=config,
            )
            for (
                decided_at,
                policy_version,
                action,
                categories,
                language,
                config_hash,
                config,
            ) in db.execute(self._sql(_VISITOR), (site, subject))
        ]

    def erase(self, db: Any, site: str, subject: str) -> int:
        """Delete the subject and salt of each of the subject's records; count them. What
        the chain covers (the commitment among it) stays, so the chain still verifies."""
        return int(db.execute(self._sql(_ERASE), (site, subject)).rowcount)

    def purge_start(self, db: Any, cutoff: int) -> int:
        """Remove records decided before ``cutoff`` (Unix seconds) from the start of the
        chain, and remember the last one removed as the chain's base; count them.

        Only a prefix is removed: if the clock went back, a record older than the cutoff
        that follows a newer one stays until that one is purged too, rather than leaving a
        hole that verification could not tell from tampering.
        """
        db.execute(_READ_HEAD + self.lock_head)  # no append in between
        young = db.execute(
            self._sql("SELECT MIN(id) FROM ck_decisions WHERE decided_at >= ?"), (cutoff,)
        ).fetchone()
        last = db.execute(
            self._sql(
                "SELECT id, seq, chain_hash FROM ck_decisions"
                " WHERE id < COALESCE(?, id + 1) ORDER BY id DESC LIMIT 1"
            ),
            (young[0] if young else None,),
        ).fetchone()
        if last is None:
            return 0
        removed = db.execute(
            self._sql("DELETE FROM ck_decisions WHERE id <= ?"), (last[0],)
        ).rowcount
        if last[2] is not None:
            db.execute(
                self._sql("UPDATE ck_ledger_head SET purged = ?, base = ? WHERE id = 1"),
                tuple(last[1:]),
            )
        return int(removed)


def _row_values(record: DecisionRecord) -> tuple[Any, ...]:
    return (
        record.site,
        record.subject,
        record.decided_at,
        record.policy_version,
        record.action,
        categories_text(record.categories),
        record.language,
        record.config_hash,
    )
