"""Proof of consent: turning a decision into the ledger record the store appends.

The record names the visitor only by a keyed hash of the random decision ID that their
decision cookie carries, so a leaked database holds no usable cookie value, and it points
at the exact banner configuration shown (stored once per distinct configuration).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from .records import DecisionRecord

LEDGER_SALT = b"consentkit.ledger"


class SubjectHasher:
    """Keyed hash of a decision ID; the key is derived from the newest secret key."""

    def __init__(self, secret_key: str) -> None:
        self.key = hmac.new(secret_key.encode("utf-8"), LEDGER_SALT, hashlib.sha256).digest()

    def __call__(self, decision_id: str) -> str:
        return hmac.new(self.key, decision_id.encode("ascii"), hashlib.sha256).hexdigest()[:32]


def config_fingerprint(config: dict[str, Any]) -> tuple[str, str]:
    """The canonical JSON of a banner configuration and its SHA-256."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return canonical, hashlib.sha256(canonical.encode("utf-8")).hexdigest()


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
