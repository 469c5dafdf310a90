"""Who may read the analytics: the admin token, as a Bearer header or a signed admin cookie.

The admin cookie is signed with its own salt (never the decision cookie's), is HttpOnly and
SameSite=Strict, so a cross-site page can neither read it nor make the browser send it.
"""

from __future__ import annotations

import hmac

import itsdangerous

from ..consent.cookies import read_named_cookie
from ..consent.keys import ClockSigner

ADMIN_COOKIE = "consentkit_admin"
ADMIN_MAX_AGE = 12 * 3600


class AdminAuth:
    def __init__(self, token: str, *, signer: ClockSigner, prefix: str) -> None:
        """``signer``: ``SiteKeys.admin_signer()`` (the admin cookie's own salt)."""
        self.token = token.encode("utf-8")
        self.signer = signer
        self.cookie_attributes = (
            f"; Path={prefix}; Max-Age={ADMIN_MAX_AGE}; HttpOnly; SameSite=Strict"
        )

    def token_matches(self, candidate: str) -> bool:
        """Constant-time comparison, so timing tells nothing about the token."""
        return hmac.compare_digest(candidate.encode("utf-8"), self.token)

    def bearer_ok(self, authorization: str | None) -> bool:
        if not authorization:
            return False
        scheme, _, credentials = authorization.partition(" ")
        return scheme.lower() == "bearer" and self.token_matches(credentials.strip())

    def cookie_ok(self, cookie_header: str | None) -> bool:
        value = read_named_cookie(cookie_header or "", ADMIN_COOKIE)
        if not value or len(value) > 256:
            return False
        try:
            self.signer.unsign(value, max_age=ADMIN_MAX_AGE)
        except itsdangerous.BadData:
            return False
        return True

    def login_cookie(self, *, secure: bool) -> str:
        value = self.signer.sign("admin").decode("ascii")
        return f"{ADMIN_COOKIE}={value}{self.cookie_attributes}{'; Secure' if secure else ''}"
