"""The visitor's consent as the application sees it (``request.state.consent``)."""

from __future__ import annotations

from dataclasses import dataclass

from .categories import NECESSARY

_ONLY_NECESSARY = frozenset({NECESSARY})


@dataclass(frozen=True, slots=True)
class Consent:
    """What this visitor has decided.

    ``categories`` holds the granted categories, ``necessary`` included; ``services`` the
    allowed services (those of granted categories, and those granted alone). Before a decision
    only ``necessary`` is allowed. ``gpc`` is true when the browser sends Global Privacy
    Control (``Sec-GPC: 1``), which opts out of marketing whatever else is decided.
    """

    decided: bool
    categories: frozenset[str]
    policy_version: str | None
    gpc: bool = False
    decided_at: int | None = None  # Unix time of the decision
    decision_id: str | None = None  # random, carried by the decision cookie for the ledger
    services: frozenset[str] = frozenset()
    # An outdated or expired decision's grants: their declared cookies are cleared.
    lapsed_grants: frozenset[str] = frozenset()

    def allows(self, name: str) -> bool:
        """True when the visitor granted the category ``name`` (``necessary`` always is),
        or allows the service ``name`` (granted alone or with its category)."""
        return name in self.categories or name in self.services

    @property
    def granted(self) -> frozenset[str]:
        """Every name ``allows()`` is true for: categories and services."""
        return self.categories | self.services

    @classmethod
    def undecided(cls, *, gpc: bool = False) -> Consent:
        return _UNDECIDED_GPC if gpc else _UNDECIDED


_UNDECIDED = Consent(decided=False, categories=_ONLY_NECESSARY, policy_version=None)
_UNDECIDED_GPC = Consent(decided=False, categories=_ONLY_NECESSARY, policy_version=None, gpc=True)
