"""Server-side enforcement: the application's ``Set-Cookie`` headers against the consent.

A cookie that a category declares is dropped from the response while that category is not
granted. A cookie that no category declares is, by setting, let through (``"allow"``),
let through and reported (``"report"``: logged once per name, counted for
``GET /consentkit/api/cookies``) or dropped and reported (``"block"``). consentkit's own
cookies are added after this step and never count as undeclared.

Only cookies set by the server pass through here: cookies that JavaScript writes in the
browser are the banner's business (gated scripts), not the middleware's.
"""

from __future__ import annotations

import logging
from typing import Literal

from .categories import CategorySet
from .consent import Consent

logger = logging.getLogger("consentkit")

Undeclared = Literal["allow", "report", "block"]
UNDECLARED_MODES = ("allow", "report", "block")
MAX_NAMES = 1000  # distinct undeclared names remembered; past it, counted under "(other)"


class CookieEnforcer:
    """Filters ``Set-Cookie`` headers; counts undeclared cookie names per process."""

    def __init__(self, categories: CategorySet, *, undeclared: Undeclared = "allow") -> None:
        self.categories = categories
        self.undeclared = undeclared
        self.active = bool(categories.cookie_pattern) or undeclared != "allow"
        self.seen: dict[str, int] = {}  # undeclared cookie name -> Set-Cookie headers seen

    def enforce(
        self, headers: list[tuple[bytes, bytes]], consent: Consent
    ) -> list[tuple[bytes, bytes]] | None:
        """The response headers without the ``Set-Cookie`` ones that this consent (and the
        setting) forbid; None when every header may stay. Header names are matched in any
        case (Django sends ``Set-Cookie``), and the other headers keep their order."""
        kept = [
            (name, value)
            for name, value in headers
            if name.lower() != b"set-cookie" or self._allowed(value.decode("latin-1"), consent)
        ]
        return kept if len(kept) != len(headers) else None

    def _allowed(self, value: str, consent: Consent) -> bool:
        name = value.split("=", 1)[0].strip()
        category = self.categories.category_of_cookie(name)
        if category is not None:
            return consent.allows(category)
        if self.undeclared == "allow":
            return True
        self._report(name)
        return self.undeclared == "report"

    def _report(self, name: str) -> None:
        if name not in self.seen:
            if len(self.seen) >= MAX_NAMES:
                name = "(other)"
            else:
                logger.warning(
                    "consentkit: the application sets cookie %r, which no category declares%s",
                    name,
                    "; it was removed" if self.undeclared == "block" else "",
                )
        self.seen[name] = self.seen.get(name, 0) + 1

    def report(self) -> dict[str, object]:
        """What ``GET /consentkit/api/cookies`` answers."""
        return {
            "undeclared_cookies": self.undeclared,
            "undeclared": [
                {"name": name, "count": count, "blocked": self.undeclared == "block"}
                for name, count in sorted(self.seen.items(), key=lambda item: -item[1])
            ],
            "since": "the start of this process",
        }
