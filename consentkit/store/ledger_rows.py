"""The consent ledger's rows, for every backend: appending to the sites' hash chains, reading
them back, a visitor's records and their erasure, and cutting the chains' start for retention.

Every method takes the connection of a transaction the store opened. Each site has its own
chain, its head one row of ``ck_ledger_heads``; the records of the first chain, which all
sites shared before schema version 5, stay under the one row of ``ck_ledger_head``, which
nothing appends to any more. Writers are kept in order by the store's write transaction
(SQLite's ``BEGIN IMMEDIATE``) or, where many processes append at once (PostgreSQL), by
locking the heads of the sites a batch of decisions touches, always in the order of their
names (``lock_head=" FOR UPDATE"``): each append reads the head its predecessor committed,
so every chain stays one line, and sites never wait for each other. One batch, however many
decisions, is one insert and one update of the heads. Reads run in one snapshot (see the
stores), so records and heads agree.
The hashing itself is in ``consentkit.ledger``; a backend module (``sqlite_ledger.py``,
``postgres_ledger.py``) only says how its driver spells things.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..ledger.chain import (
    GENESIS,
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
from ..ledger.verify import LedgerReport, StoredRecord, verify_records
from .consent_stats import SAVE_CONFIG, UPSERT_CONSENT, Decision, consent_rows

_FIELDS = "site, subject, decided_at, policy_version, action, categories, language, config_hash"
_CHAIN = "seq, salt, commitment, chain_hash"
_INSERT = (
    f"INSERT INTO ck_decisions ({_FIELDS}, {_CHAIN}, per_site)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)"
)
READ_HEAD = "SELECT records, head, purged, base FROM ck_ledger_head WHERE id = 1"
_MOVE_HEAD = "UPDATE ck_ledger_head SET records = ?, head = ? WHERE id = 1"
_SITE_HEADS = "SELECT site, records, head, purged, base FROM ck_ledger_heads"
_MOVE_SITE_HEAD = "UPDATE ck_ledger_heads SET records = ?, head = ? WHERE site = ?"
_START_CHAIN = (
    "INSERT INTO ck_ledger_heads (site, records, head, purged, base) VALUES (?, 0, ?, 0, ?)"
    " ON CONFLICT (site) DO NOTHING"
)
_ROWS = f"SELECT id, {_FIELDS}, {_CHAIN} FROM ck_decisions"
_LATEST = (
    "SELECT decided_at, policy_version, action, categories, language, config_hash"
    " FROM ck_decisions WHERE site = ? AND subject = ? ORDER BY id DESC LIMIT 1"
)
FIRST_CHAIN, SITE_CHAINS = "per_site = 0", "per_site <> 0"
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


def site_head_missing(site: str) -> str:
    return (
        f"the chain head of site {site!r} (its row of ck_ledger_heads) is missing; "
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

    def sql(self, text: str) -> str:
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)

    def read_head(self, db: Any) -> ChainHead | None:
        """The chain head, or None when its row was deleted."""
        row = db.execute(READ_HEAD).fetchone()
        return ChainHead(*row) if row else None

    def lock_chain(self, db: Any) -> ChainHead:
        """The chain head, held until the transaction ends: appends in flight finish first,
        further ones wait."""
        row = db.execute(READ_HEAD + self.lock_head).fetchone()
        if row is None:
            raise self.head_missing(HEAD_MISSING)
        return ChainHead(*row)

    def read_site_heads(self, db: Any) -> dict[str, ChainHead]:
        """Every site's chain head."""
        return {site: ChainHead(*rest) for site, *rest in db.execute(_SITE_HEADS).fetchall()}

    def chain_heads(self, db: Any) -> tuple[str, dict[str, str]]:
        """The first chain's head (the one before per-site chains) and every site's."""
        first = self.read_head(db)
        sites = self.read_site_heads(db)
        return (first.head if first else GENESIS), {s: h.head for s, h in sorted(sites.items())}

    def verify(self, db: Any, *, anchors: Collection[str] = ()) -> LedgerReport:
        """Every chain checked from its records, heads and the banners shown (one snapshot)."""
        return verify_records(
            self.stored_records(db),
            head=self.read_head(db),
            configs=self.banner_configs(db),
            anchors=anchors,
            site_records=self.site_records(db),
            site_heads=self.read_site_heads(db),
        )

    def start_chains(self, db: Any, sites: Iterable[str]) -> None:
        """Give each of ``sites`` that has none a chain head, starting where the first chain
        ends. A site whose records are there but whose head is not stays without one: a
        chain continued from a guess would hide what removed it."""
        first: ChainHead | None = None
        for site in sorted(sites):
            if db.execute(self.sql(f"{_SITE_HEADS} WHERE site = ?"), (site,)).fetchone():
                continue
            chained = db.execute(
                self.sql(f"SELECT 1 FROM ck_decisions WHERE site = ? AND {SITE_CHAINS} LIMIT 1"),
                (site,),
            ).fetchone()
            if chained:
                raise self.head_missing(site_head_missing(site))
            first = first or self.read_head(db)
            if first is None:
                raise self.head_missing(HEAD_MISSING)
            db.execute(self.sql(_START_CHAIN), (site, first.head, first.head))

    def lock_chains(self, db: Any, sites: Collection[str]) -> dict[str, ChainHead]:
        """The heads of ``sites``' chains, held until the transaction ends (locked in the
        order of the names, as every writer does, so no two wait for each other in a
        cycle): appends in flight finish first, further ones wait."""
        marks = ", ".join("?" * len(sites))
        rows = db.execute(
            self.sql(f"{_SITE_HEADS} WHERE site IN ({marks}) ORDER BY site{self.lock_head}"),
            tuple(sites),
        ).fetchall()
        heads = {site: ChainHead(*rest) for site, *rest in rows}
        for site in sites:
            if site not in heads:
                raise self.head_missing(site_head_missing(site))
        return heads

    def append(
        self, db: Any, decisions: Sequence[Decision], *, known_configs: Collection[str]
    ) -> None:
        """Append the records of ``decisions``, in order, each to its site's chain, move
        the heads, store the banner configurations not in ``known_configs`` and add up the
        consent statistics: in the caller's transaction, with one statement of each kind
        (the chains of these sites must have been started, see ``start_chains``).

        A ``retried`` decision (the spool's: a commit that held it may have gone through,
        its answer lost with the connection) is not appended again if it is its visitor's
        latest record, to the second: while a decision waits in the spool, the visitor's
        later ones wait behind it, so a copy in the ledger is the latest. Its site's head
        is locked first, so a transaction that appended it and has not ended yet is
        waited for."""
        heads = self.lock_chains(db, {d.record.site for d in decisions})
        decisions = [d for d in decisions if not (d.retried and self._latest(db, d.record))]
        if not decisions:
            return
        moved = {site: (head.records, head.head) for site, head in heads.items()}
        rows = []
        for decision in decisions:
            record = decision.record
            position, previous = moved[record.site]
            salt = new_salt()
            entry = ledger_entry(
                record,
                position=position + 1,
                commitment=subject_commitment(salt, record.subject),
                per_site=True,
            )
            chain = chain_hash(previous, entry)
            rows.append((*_row_values(record), entry.position, salt, entry.commitment, chain))
            moved[record.site] = (entry.position, chain)
        self.executemany(db, self.sql(_INSERT), rows)
        self.executemany(
            db,
            self.sql(_MOVE_SITE_HEAD),
            [(records, head, site) for site, (records, head) in sorted(moved.items())],
        )
        configs = {
            d.record.config_hash: d.config
            for d in decisions
            if d.record.config_hash not in known_configs
        }
        if configs:
            self.executemany(db, self.sql(SAVE_CONFIG), sorted(configs.items()))
        self.executemany(db, self.sql(UPSERT_CONSENT), consent_rows(decisions))

    def _latest(self, db: Any, record: DecisionRecord) -> bool:
        """Whether ``record`` is its visitor's latest in the ledger (by the subject's
        index), to the second."""
        values = _row_values(record)
        latest = db.execute(self.sql(_LATEST), values[:2]).fetchone()
        return latest is not None and tuple(latest) == values[2:]

    def chain_unchained(self, db: Any) -> None:
        """Chain the rows a database held before the ledger was a chain, in id order: each
        gets its position, a salt and commitment, and its chain hash; the head moves past
        them."""
        try:
            head = self.lock_chain(db)
        except self.head_missing:
            return  # nothing to continue from; verification reports the missing head
        position, previous, after = head.records, head.head, 0
        batch = self.sql(f"{_ROWS} WHERE chain_hash IS NULL AND id > ? ORDER BY id LIMIT {_BATCH}")
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
            self.executemany(db, self.sql(_CHAINED), updates)
            after = rows[-1][0]
        db.execute(self.sql(_MOVE_HEAD), (position, previous))

    def stored_records(self, db: Any) -> Iterator[StoredRecord]:
        """Every record of the first chain in ledger order, as verification reads it
        (streamed)."""
        return self._stored(db, f"{_ROWS} WHERE {FIRST_CHAIN} ORDER BY id", per_site=False)

    def site_records(self, db: Any) -> Iterator[StoredRecord]:
        """Every record of the sites' chains, by site and in ledger order (streamed)."""
        return self._stored(db, f"{_ROWS} WHERE {SITE_CHAINS} ORDER BY site, id", per_site=True)

    def _stored(self, db: Any, sql: str, *, per_site: bool) -> Iterator[StoredRecord]:
        for row in self.stream(db, sql):
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
                per_site=per_site,
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
            ) in db.execute(self.sql(_VISITOR), (site, subject))
        ]

    def erase(self, db: Any, site: str, subject: str) -> int:
        """Delete the subject and salt of each of the subject's records; count them. What
        the chain covers (the commitment among it) stays, so the chain still verifies."""
        return int(db.execute(self.sql(_ERASE), (site, subject)).rowcount)


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
