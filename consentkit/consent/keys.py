"""One key per purpose, all from the site's ``secret_key``: the only place salts are written.

As itsdangerous does, every signed or keyed value has a salt of its own, so that no value
made for one purpose is ever accepted for another: the decision cookie, the admin cookie,
the ledger's names for visitors and the unique-visitor hash. With several secret keys
(rotation, oldest first), the newest signs and keys new values, and every key still
verifies (signatures) or finds (the ledger's names of a visitor) what older ones made.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence

import itsdangerous

DECISION_SALT = "consentkit.decision"
ADMIN_SALT = "consentkit.admin"
LEDGER_SALT = b"consentkit.ledger"
VISITOR_SALT = b"consentkit.visitors"


class ClockSigner(itsdangerous.TimestampSigner):
    """itsdangerous' timestamp signer, reading the time from the site's clock."""

    def __init__(self, keys: Sequence[str], salt: str, clock: Callable[[], float]) -> None:
        super().__init__(list(keys), salt=salt)
        self._clock = clock

    def get_timestamp(self) -> int:
        return int(self._clock())


def derived_key(secret: str, salt: bytes) -> bytes:
    """A 32-byte key for one purpose, from one secret key."""
    return hmac.new(secret.encode("utf-8"), salt, hashlib.sha256).digest()


class SiteKeys:
    """The site's secret keys (oldest to newest), and what each purpose derives from them."""

    def __init__(self, keys: Sequence[str], clock: Callable[[], float]) -> None:
        self.keys = tuple(keys)
        self.clock = clock

    def decision_signer(self) -> ClockSigner:
        return ClockSigner(self.keys, DECISION_SALT, self.clock)

    def admin_signer(self) -> ClockSigner:
        return ClockSigner(self.keys, ADMIN_SALT, self.clock)

    def ledger_keys(self) -> list[bytes]:
        """The keys of the ledger's names for visitors, newest first."""
        return [derived_key(secret, LEDGER_SALT) for secret in reversed(self.keys)]

    def visitor_key(self) -> bytes:
        """The key of the hash that the unique-visitor sketches see (the newest secret's:
        a rotation starts counting visitors afresh, it never links old and new)."""
        return derived_key(self.keys[-1], VISITOR_SALT)
