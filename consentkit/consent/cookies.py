"""The two cookies: the signed decision (``consentkit``) and the random ID (``consentkit_id``).

The decision cookie is readable by the banner script, so its payload is plain text:
``<policy_version>|<granted names joined by '+'>|<decision id>`` followed by
itsdangerous' ``.<timestamp>.<signature>``. The names are the granted categories, then the
services granted alone (a granted category's services are implied, so the cookie stays
small); ``necessary`` is implied and never written.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import itsdangerous

from ..caches import forget_oldest
from ..errors import ConfigurationError
from .categories import NECESSARY
from .consent import Consent

DECISION_COOKIE = "consentkit"
ID_COOKIE = "consentkit_id"
_DECISION_PREFIX = DECISION_COOKIE + "="
_ID_PREFIX = ID_COOKIE + "="
MAX_DECISION_COOKIE = 512  # longer values are not ours: treated as "no decision" unread
_ID_FORMAT = re.compile(r"[A-Za-z0-9_-]{22,64}")
_EXPIRED = "Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
POLICY_VERSION = re.compile(r"[A-Za-z0-9._-]{1,64}")
MIN_SECRET_LENGTH = 32


# itsdangerous' ".<timestamp>.<signature>" (SHA-1 HMAC, base64) and a decision id.
_SIGNED_OVERHEAD = 1 + 8 + 1 + 27 + 1 + 22 + 2


def check_cookie_fits(policy_version: str, names: Sequence[str]) -> None:
    """At start-up: a decision granting every category and service must fit in the
    decision cookie, or a visitor's choice would be read back as no decision."""
    longest = len(policy_version) + len("+".join(names)) + _SIGNED_OVERHEAD
    if longest > MAX_DECISION_COOKIE:
        raise ConfigurationError(
            f"the categories' and services' names are too long together: a decision naming "
            f"them all would need {longest} bytes, and the decision cookie holds at most "
            f"{MAX_DECISION_COOKIE}; use shorter names or fewer services"
        )


def new_token() -> str:
    """128 random bits from ``secrets``, URL-safe: for ``consentkit_id`` and decision IDs."""
    return secrets.token_urlsafe(16)


def is_visitor_id(value: str | None) -> bool:
    return value is not None and _ID_FORMAT.fullmatch(value) is not None


def secret_keys(secret_key: str | Sequence[str] | None) -> list[str]:
    """Validate the ``secret_key`` option: one key, or a list from oldest to newest."""
    keys = [secret_key] if isinstance(secret_key, str) else list(secret_key or [])
    if not keys or not all(isinstance(k, str) and k for k in keys):
        raise ConfigurationError(
            "secret_key is required: a non-empty string, or a list of them from oldest to "
            "newest (the newest signs) to rotate keys"
        )
    if any(len(k) < MIN_SECRET_LENGTH for k in keys):
        raise ConfigurationError(
            f"secret_key must be at least {MIN_SECRET_LENGTH} characters (every key of a "
            "rotation list too): a short key can be guessed, and then every decision cookie "
            "forged. Generate one with: python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'"
        )
    return keys


@dataclass(frozen=True, slots=True)
class _Verified:
    version: str
    timestamp: int
    consent: Consent  # without GPC
    consent_gpc: Consent  # the same decision, seen with Sec-GPC: 1
    # Once outdated or expired: undecided, but still naming the visitor in the ledger.
    lapsed: Consent
    lapsed_gpc: Consent


class DecisionCodec:
    """Signs and verifies the decision cookie; verification results are cached."""

    def __init__(
        self,
        signer: itsdangerous.TimestampSigner,
        *,
        policy_version: str,
        max_age: int,
        categories: frozenset[str],
        clock: Callable[[], float],
        cache_size: int = 2048,
        services: Mapping[str, str] | None = None,
    ) -> None:
        """``signer``: ``SiteKeys.decision_signer()`` (the decision cookie's own salt);
        ``categories`` the optional ones; ``services`` each service's category."""
        self.signer = signer
        self.policy_version = policy_version
        self.max_age = max_age
        self.categories = categories
        self.services = dict(services or {})
        self.clock = clock
        self.cache_size = cache_size
        self._cache: dict[str, _Verified] = {}

    def encode(
        self, granted: frozenset[str], decision_id: str, alone: frozenset[str] = frozenset()
    ) -> str:
        """The cookie's value for the granted categories and the services granted
        ``alone`` (those of a granted category are implied, not written)."""
        categories = granted & self.categories
        services = {s for s in alone if self.services.get(s, NECESSARY) not in categories}
        names = "+".join([*sorted(categories), *sorted(services & self.services.keys())])
        payload = f"{self.policy_version}|{names}|{decision_id}"
        return self.signer.sign(payload).decode("ascii")

    def decode(self, value: str | None, *, gpc: bool = False) -> Consent:
        """The decision the cookie holds. Undecided when it is absent, forged, outdated or
        expired; an outdated or expired genuine one keeps its decision ID, which names the
        visitor in the ledger (their rights reach their records after a policy change too)."""
        # The cache holds only genuine cookies: a hit (every request of a returning
        # visitor) skips the checks and the call in _lookup.
        verified = self._cache.get(value) if value else None
        if verified is None:
            verified = self._lookup(value)
            if verified is None:
                return Consent.undecided(gpc=gpc)
        if verified.version != self.policy_version or (
            self.clock() - verified.timestamp > self.max_age
        ):
            return verified.lapsed_gpc if gpc else verified.lapsed
        return verified.consent_gpc if gpc else verified.consent

    def holds_until(self, value: str | None) -> float:
        """Until when ``decode(value)`` answers as it does now: a genuine, current decision
        until it expires; anything else (absent, forged, lapsed) is checked each time."""
        verified = self._cache.get(value) if value else None
        if verified is None or verified.version != self.policy_version:
            return 0.0
        return float(verified.timestamp + self.max_age)

    def decision_id(self, value: str | None) -> str | None:
        """The decision ID of a genuine decision cookie, even an outdated or expired one."""
        verified = self._lookup(value)
        return verified.consent.decision_id if verified else None

    def _lookup(self, value: str | None) -> _Verified | None:
        """The verified cookie (cached), or None when absent, oversized or forged."""
        if not value or len(value) > MAX_DECISION_COOKIE:
            return None
        verified = self._cache.get(value)
        if verified is None:
            verified = self._verify(value)
            if verified is None:
                return None
            if len(self._cache) >= self.cache_size:
                forget_oldest(self._cache, self.cache_size)
            self._cache[value] = verified
        return verified

    def _verify(self, value: str) -> _Verified | None:
        try:
            raw, signed_at = self.signer.unsign(value, return_timestamp=True)
            version, names, decision_id = raw.decode("ascii").split("|")
        except (itsdangerous.BadData, UnicodeDecodeError, ValueError):
            return None
        if not is_visitor_id(decision_id) or not POLICY_VERSION.fullmatch(version):
            return None
        written = frozenset(names.split("+")) if names else frozenset()
        granted = written & self.categories
        services = frozenset(
            service
            for service, category in self.services.items()
            if category in granted or service in written
        )
        timestamp = int(signed_at.timestamp())
        consent = Consent(
            decided=True,
            categories=granted | {NECESSARY},
            policy_version=version,
            decided_at=timestamp,
            decision_id=decision_id,
            services=services,
        )
        # What it granted: cleared from the browser once the decision lapses.
        lapsed = replace(
            Consent.undecided(), decision_id=decision_id, lapsed_grants=granted | services
        )
        return _Verified(
            version,
            timestamp,
            consent,
            replace(consent, gpc=True),
            lapsed,
            replace(lapsed, gpc=True),
        )


class CookieHeaders:
    """``Set-Cookie`` values, their attribute strings computed once at start-up."""

    def __init__(self, *, decision_max_age: int, id_max_age: int, domain: str | None) -> None:
        self.decision_max_age = decision_max_age
        self.id_max_age = id_max_age
        self.domain = domain
        scope = "; Path=/" + (f"; Domain={domain}" if domain else "")
        self._decision = f"{scope}; Max-Age={decision_max_age}; SameSite=Lax"
        self._id = f"; HttpOnly{scope}; Max-Age={id_max_age}; SameSite=Lax"
        self._expired = f"{scope}; {_EXPIRED}; SameSite=Lax"

    def decision(self, value: str, *, secure: bool) -> str:
        return f"{DECISION_COOKIE}={value}{self._decision}{'; Secure' if secure else ''}"

    def visitor_id(self, value: str, *, secure: bool) -> str:
        return f"{ID_COOKIE}={value}{self._id}{'; Secure' if secure else ''}"

    def expire(self, name: str, *, secure: bool) -> str:
        return f"{name}={self._expired}{'; Secure' if secure else ''}"


def expire_variant(name: str, *, path: str, domain: str | None, secure: bool) -> str:
    """A ``Set-Cookie`` that deletes the cookie ``name`` set with this Path and Domain."""
    where = f"; Path={path}" + (f"; Domain={domain}" if domain else "")
    return f"{name}={where}; {_EXPIRED}{'; Secure' if secure else ''}"


def cookie_names(cookie_header: str) -> list[str]:
    """The names of the cookies in a Cookie header, in order."""
    names = []
    for chunk in cookie_header.split(";"):
        name = chunk.split("=", 1)[0].strip()
        if name:
            names.append(name)
    return names


def read_cookies(cookie_header: str) -> tuple[str | None, str | None]:
    """The ``consentkit`` and ``consentkit_id`` values in a Cookie header, if present."""
    decision = visitor = None
    position = cookie_header.find(DECISION_COOKIE)
    while position >= 0:  # usually one or two hits; other cookies are skipped unread
        if position == 0 or cookie_header[position - 1] in " ;":
            end = cookie_header.find(";", position)
            chunk = cookie_header[position : end if end >= 0 else None].rstrip()
            if chunk.startswith(_DECISION_PREFIX):
                decision = chunk[len(_DECISION_PREFIX) :].strip('"')
            elif chunk.startswith(_ID_PREFIX):
                visitor = chunk[len(_ID_PREFIX) :].strip('"')
        position = cookie_header.find(DECISION_COOKIE, position + len(DECISION_COOKIE))
    return decision, visitor


def read_named_cookie(cookie_header: str, name: str) -> str | None:
    """One cookie's value from a Cookie header (off the hot path: simple and strict)."""
    prefix = name + "="
    for chunk in cookie_header.split(";"):
        chunk = chunk.strip()
        if chunk.startswith(prefix):
            return chunk[len(prefix) :].strip('"')
    return None
