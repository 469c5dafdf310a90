"""Proof of consent: the ledger record of a decision, and the hash chain that makes the
ledger tamper-evident.

The record names the visitor only by a keyed hash of the random decision ID that their
decision cookie carries, so a leaked database holds no usable cookie value, and it points
at the exact banner configuration shown (stored once per distinct configuration).

Every record is chained to the one before it in its site's chain: its chain hash is the
SHA-256 of the previous chain hash and of the record's canonical form, and the store keeps
the last hash and the number of records of each chain (its *head*) beside the records.
Before schema version 5 every site shared one chain; those records keep their place and
proofs in that first chain, which is closed, and each site's chain starts from its last
hash. A record edited, removed or moved after it was written no longer fits the chain.
The chain covers a salted commitment to the subject rather than the subject itself, so
that erasing a visitor (deleting subject and salt) leaves every other field of the record
as tamper-evident as before.

Everything here is pure and backend-independent; each store only writes and reads rows.
Verification is in ledger_verify.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .records import DecisionRecord

GENESIS = "0" * 64  # the chain hash before the first record (spelled out in migration 3 too)
_FORMAT = "consentkit.ledger/1"  # the first item of a canonical record of the one chain
_FORMAT_SITE = "consentkit.ledger/2"  # ... of a site's own chain (schema version 5 on)


class SubjectHasher:
    """Keyed hash of a decision ID; new records use the key derived from the newest secret.

    With several secret keys (rotation, oldest first), ``every`` gives the visitor's name
    under each of them, newest first, so their records written before a rotation stay theirs.
    """

    def __init__(self, keys: Sequence[bytes]) -> None:
        """``keys``: ``SiteKeys.ledger_keys()``, newest first."""
        self.keys = list(keys)
        self.key = self.keys[0]

    def __call__(self, decision_id: str) -> str:
        return self._hash(self.key, decision_id)

    def every(self, decision_id: str) -> list[str]:
        return list(dict.fromkeys(self._hash(key, decision_id) for key in self.keys))

    @staticmethod
    def _hash(key: bytes, decision_id: str) -> str:
        return hmac.new(key, decision_id.encode("ascii"), hashlib.sha256).hexdigest()[:32]


def config_fingerprint(config: dict[str, Any]) -> tuple[str, str]:
    """The canonical JSON of a banner configuration and its SHA-256."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return canonical, config_hash_of(canonical)


def config_hash_of(canonical: str) -> str:
    """The SHA-256 of a stored banner configuration, as the ledger records point at it."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def decision_record(
    *,
    site: str,
    subject: str,
    decided_at: int,
    policy_version: str,
    action: str,
    granted: frozenset[str],
    language: str,
    config_hash: str,
) -> DecisionRecord:
    """The ledger record of one decision (categories sorted, so equal choices read equal)."""
    return DecisionRecord(
        site=site,
        subject=subject,
        decided_at=decided_at,
        policy_version=policy_version,
        action=action,
        categories=tuple(sorted(granted)),
        language=language,
        config_hash=config_hash,
    )


def categories_text(categories: Iterable[str]) -> str:
    """Granted categories as a store keeps them: names joined by single spaces."""
    return " ".join(categories)


def categories_from_text(text: str) -> tuple[str, ...]:
    """The inverse of ``categories_text``; an edited separator shows as an empty name, so it
    changes the record's canonical form instead of being silently normalised away."""
    return tuple(text.split(" ")) if text else ()


# --- the chain -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """The fields of one record that its chain hash covers.

    ``position`` counts records from the first one ever appended to the chain (1, 2, ...),
    so a missing or moved record shows as a gap; ``commitment`` stands in for the subject
    (see ``subject_commitment``) and survives erasure. ``per_site``: the record is in its
    site's own chain, not in the first chain that all sites shared before; it is part of
    the canonical form, so a record cannot be passed off as one of the other chain.
    """

    position: int
    site: str
    commitment: str
    decided_at: int
    policy_version: str
    action: str
    categories: tuple[str, ...]
    language: str
    config_hash: str
    per_site: bool = False


def new_salt() -> str:
    """A fresh random salt for one record's subject commitment (128 bits, hex)."""
    return secrets.token_hex(16)


def subject_commitment(salt: str, subject: str) -> str:
    """``sha256(salt || subject)``: binds the record to its subject while both are kept,
    and, once they are deleted, links the record to nobody (each record has its own salt)."""
    return hashlib.sha256(bytes.fromhex(salt) + subject.encode("utf-8")).hexdigest()


def ledger_entry(
    record: DecisionRecord, *, position: int, commitment: str, per_site: bool = False
) -> LedgerEntry:
    """What the chain covers of ``record`` appended at ``position``."""
    return LedgerEntry(
        position=position,
        site=record.site,
        commitment=commitment,
        decided_at=record.decided_at,
        policy_version=record.policy_version,
        action=record.action,
        categories=record.categories,
        language=record.language,
        config_hash=record.config_hash,
        per_site=per_site,
    )


def canonical_entry(entry: LedgerEntry) -> bytes:
    """The one byte string a record's hash is computed over: a JSON array, so no two
    different records can share it whatever their texts contain."""
    fields = [
        _FORMAT_SITE if entry.per_site else _FORMAT,
        entry.position,
        entry.site,
        entry.commitment,
        entry.decided_at,
        entry.policy_version,
        entry.action,
        list(entry.categories),
        entry.language,
        entry.config_hash,
    ]
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def chain_hash(previous: str, entry: LedgerEntry) -> str:
    """The chain hash of ``entry`` appended after the record whose chain hash is
    ``previous`` (``GENESIS`` for the first record).

    The previous hash is taken as text, so that a stored hash edited into something that
    is not hex is reported as a broken link rather than failing the verification; the
    newline cannot occur in a canonical record, so the hashed bytes still split one way.
    """
    data = previous.encode("utf-8") + b"\n" + canonical_entry(entry)
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainHead:
    """Where the chain stands: ``records`` positions given out and the last chain hash;
    ``purged`` records were removed from its start by retention, the last of them having
    the chain hash ``base``."""

    records: int
    head: str
    purged: int = 0
    base: str = GENESIS


# --- what a visitor is shown ---------------------------------------------------------------


def visitor_record(
    *,
    decided_at: int,
    policy_version: str,
    action: str,
    categories: tuple[str, ...],
    language: str,
    config_hash: str,
    config: str | None,
) -> dict[str, Any]:
    """One record as its visitor sees and exports it: no subject, salt or chain hash."""
    return {
        "decided_at": datetime.fromtimestamp(decided_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "policy_version": policy_version,
        "action": action,
        "categories": list(categories),
        "language": language,
        "config_hash": config_hash,
        "banner": json.loads(config) if config is not None else None,
    }
