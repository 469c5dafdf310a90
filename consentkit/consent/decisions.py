"""A visitor's choice becomes a decision: granted categories, a ledger record, cookies.

The ledger record is written before the visitor is answered; if the store cannot take it,
the decision is not acknowledged (no cookie is set) and the visitor is told to retry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import anyio.to_thread

from ..ledger.chain import SubjectHasher, decision_record
from ..ledger.records import ConsentTally, DecisionSink
from ..storable import storable_text
from .categories import ANALYTICS, NECESSARY, CategorySet
from .consent import Consent
from .cookies import ID_COOKIE, CookieHeaders, DecisionCodec, new_token
from .withdrawal import CookieExpiry

ACTIONS = ("accept_all", "reject_all", "custom")
WITHDRAW = "withdraw"  # how the ledger records a choice narrower than the one before
GPC_OPT_OUT = frozenset({"marketing"})  # Sec-GPC opts out of sale/sharing: marketing
DNT_OPT_OUT = frozenset({ANALYTICS, "marketing"})  # DNT: 1, where the site honours it


@dataclass(frozen=True, slots=True)
class Choice:
    action: str
    categories: frozenset[str]  # only meaningful for "custom"
    services: frozenset[str] = frozenset()  # granted alone; only meaningful for "custom"


@dataclass(frozen=True, slots=True)
class Outcome:
    consent: Consent
    set_cookies: tuple[str, ...]


class DecisionRecorder:
    def __init__(
        self,
        *,
        site: str,
        categories: CategorySet,
        codec: DecisionCodec,
        cookies: CookieHeaders,
        ledger: DecisionSink,
        subjects: SubjectHasher,
        clock: Callable[[], float],
        honour_dnt: bool = False,
    ) -> None:
        """``ledger`` takes each decision's record: the store, or the spool in front of it
        (with which an unreachable store delays the record, never the decision)."""
        self.site = site
        self.categories = categories
        self.codec = codec
        self.cookies = cookies
        self.ledger = ledger
        self.subjects = subjects
        self.clock = clock
        self.honour_dnt = honour_dnt
        self.expiry = CookieExpiry(categories)

    def granted(self, choice: Choice, *, gpc: bool, dnt: bool = False) -> frozenset[str]:
        if choice.action == "accept_all":
            # With GPC on, "accept all" keeps marketing off (with DNT honoured, analytics
            # too): only an explicit, per-category grant (action "custom") overrides the
            # browser's signal, and the ledger records it as that explicit choice.
            opted_out = (GPC_OPT_OUT if gpc else frozenset()) | (
                DNT_OPT_OUT if dnt and self.honour_dnt else frozenset()
            )
            return self.categories.optional - opted_out
        if choice.action == "reject_all":
            return frozenset()
        return choice.categories & self.categories.optional

    def services_alone(self, choice: Choice, granted: frozenset[str]) -> frozenset[str]:
        """The services of a custom choice whose category is not granted."""
        if choice.action != "custom":
            return frozenset()
        services = self.categories.services
        return frozenset(s for s in choice.services if services.get(s, NECESSARY) not in granted)

    async def decide(
        self,
        choice: Choice,
        *,
        previous: Consent,
        visitor_id: str | None,
        secure: bool,
        language: str,
        config: tuple[str, str],
        country: str,
        device: str,
        browser: str,
        cookie_header: str = "",
        dnt: bool = False,
    ) -> Outcome:
        granted = self.granted(choice, gpc=previous.gpc, dnt=dnt)
        alone = self.services_alone(choice, granted)
        services = self.categories.allowed_services(granted, alone)
        allowed = granted | services
        withdrawn = (previous.granted - allowed - {NECESSARY}) if previous.decided else set()
        # Narrower than before (nothing added): a withdrawal, and recorded as one.
        narrower = bool(withdrawn) and allowed <= previous.granted
        action = WITHDRAW if narrower else choice.action
        decision_id = previous.decision_id or new_token()
        now = int(self.clock())
        canonical, config_hash = config
        record = decision_record(
            site=self.site,
            subject=self.subjects(decision_id),
            decided_at=now,
            policy_version=self.codec.policy_version,
            action=action,
            granted=allowed | {NECESSARY},
            language=language,
            config_hash=config_hash,
        )
        tally = ConsentTally(
            hour=now // 3600,
            country=storable_text(country),
            device=storable_text(device),
            browser=storable_text(browser),  # a family may be a token of the header
            action=action,
            # Services are offered and counted beside the categories: a grant rate each.
            offered=tuple(sorted(self.categories.optional | self.categories.services.keys())),
            granted=tuple(sorted(allowed)),
        )
        await anyio.to_thread.run_sync(self.ledger.append_decision, record, tally, canonical)
        headers = [
            self.cookies.decision(self.codec.encode(granted, decision_id, alone), secure=secure)
        ]
        if ANALYTICS in granted:
            if visitor_id is None:
                headers.append(self.cookies.visitor_id(new_token(), secure=secure))
        elif visitor_id is not None or ANALYTICS in withdrawn:
            headers.append(self.cookies.expire(ID_COOKIE, secure=secure))
        headers += self.expiry.headers(withdrawn, cookie_header, secure=secure, keep=allowed)
        consent = Consent(
            decided=True,
            categories=granted | {NECESSARY},
            policy_version=self.codec.policy_version,
            gpc=previous.gpc,
            decided_at=now,
            decision_id=decision_id,
            services=services,
        )
        return Outcome(consent, tuple(headers))
