"""The store interface: what the middleware, the HTTP API and the CLI need from a backend."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from ..analytics.batch import Flush
from ..ledger.records import ConsentTally, DecisionRecord
from ..ledger.verify import LedgerReport
from ..query.execute import CubeReader
from ..query.plan import Dialect, Plan
from ..query.plan import _end_hour as end_hour  # the hours a query's date range covers
from ..query.plan import _epoch_hour as epoch_hour
from ..query.run import answer_query


class Store(ABC):
    """A place for the analytics cube and the consent ledger.

    Methods are synchronous and thread-safe; the middleware calls them from a worker
    thread, never on the request path. ``query`` is the one entry point behind
    ``store.query(...)``, ``POST /consentkit/api/query`` and ``consentkit query``.
    """

    dialect: Dialect

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock

    @abstractmethod
    def write_pageviews(self, site: str, flushes: Sequence[Flush]) -> None:
        """Append the flushes' cells to the cube, each at most once (see ``Flush``), in one
        transaction (commutative, so any number of writers may flush; nothing stored is
        read or rewritten), rolling up what waits now and then."""

    @abstractmethod
    def dropped_pageviews(self, site: str, first_hour: int, end_hour: int) -> int:
        """Page views dropped by full buffers in a range of hours (``Flush.dropped``)."""

    @abstractmethod
    def compact(self, site: str) -> None:
        """Roll up every block the flushes appended (done in the background anyway; after
        it, long-range queries read only the roll-ups)."""

    @abstractmethod
    def cube_reader(self) -> AbstractContextManager[CubeReader]:
        """The cube as one snapshot of the database sees it, for a query."""

    @abstractmethod
    def append_decision(
        self, record: DecisionRecord, tally: ConsentTally, config: str, *, retried: bool = False
    ) -> None:
        """Append one decision to the ledger (durably, before the visitor is answered),
        chained to the record before it in its site's chain (see ledger/chain.py); the
        decisions of concurrent callers are committed together. ``retried``: tried before
        by a commit of unknown outcome (the spool's); not appended if it is its visitor's
        latest record already (``LedgerRows.append``)."""

    @abstractmethod
    def verify_ledger(self, *, anchors: Collection[str] = ()) -> LedgerReport:
        """Check the whole consent ledger: each record against the hash chain and its
        banner configuration, the chain head against the last record, and each of
        ``anchors`` (heads published earlier) against the chain."""

    def ledger_head(self, site: str | None = None) -> str:
        """The chain hash of the last record of ``site``'s chain: publish it elsewhere (with
        its date) so that a rebuilt chain shows, since it would no longer contain that hash.

        Without ``site``: the head of the ledger's one chain; a ledger with a chain for each
        of several sites raises ``ValueError`` (see ``ledger_heads``). A site without
        records yet has the head its chain will start from.
        """
        first, sites = self._chain_heads()
        if site is not None:
            return sites.get(site, first)
        if len(sites) > 1:
            raise ValueError(
                f"the ledger has a chain for each of {len(sites)} sites: name one, "
                "or publish every head (ledger_heads())"
            )
        return next(iter(sites.values()), first)

    def ledger_heads(self) -> dict[str, str]:
        """Each site's chain head, by site name (see ``ledger_head``)."""
        return self._chain_heads()[1]

    @abstractmethod
    def _chain_heads(self) -> tuple[str, dict[str, str]]:
        """The head of the first chain (every site's before schema version 5, closed
        since), and each site's, read in one snapshot."""

    @abstractmethod
    def subject_records(self, site: str, subject: str) -> list[dict[str, Any]]:
        """What the ledger holds about one visitor (``subject``: the keyed hash of their
        decision ID), oldest first: time (ISO 8601 UTC), policy version, action,
        categories, language, banner configuration hash and the banner configuration
        itself; never the subject or anything from the chain."""

    @abstractmethod
    def erase_subject(self, site: str, subject: str) -> int:
        """Irreversibly unlink a visitor's records from them: subject and salt are deleted,
        the rest stays so the chain still verifies. Returns how many records were erased.
        Consent analytics (aggregates without subjects) are unchanged."""

    @abstractmethod
    def fetch(self, plan: Plan) -> Iterable[Sequence[Any]]:
        """Run a planned query and return its rows."""

    @abstractmethod
    def bot_pageviews(self, site: str, first_hour: int, end_hour: int) -> int:
        """Bot page views counted apart in a range of hours."""

    @abstractmethod
    def purge(self, cutoffs: dict[str, int]) -> dict[str, int]:
        """Delete rows older than each table's cutoff (see retention.py); count per table."""

    @abstractmethod
    def export(self, table: str) -> Iterator[dict[str, Any]]:
        """Every row of ``pageviews`` or ``consent_stats``; visitors as estimates, no sketches."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    def query(
        self,
        query: dict[str, Any],
        *,
        k_anonymity: int | None = None,
        time_zone: str = "UTC",
        categories: Collection[str] | None = None,
    ) -> dict[str, Any]:
        """Answer an analytics query (DESIGN section 6); raises ``QueryError`` when it is bad.

        With ``k_anonymity=k``, result rows with fewer than k visitors are folded into one
        row whose dimension values are ``"(other)"``. ``time_zone`` (an IANA name such as
        ``"Europe/Berlin"``) sets where days, weeks and months begin; the default is UTC.
        ``categories`` (the site's) makes a ``consent:category`` filter on any other value a
        ``QueryError``; the HTTP API passes the middleware's.
        """
        answer = answer_query(
            self, query, k_anonymity=k_anonymity, time_zone=time_zone, categories=categories
        )
        first, last = map(date.fromisoformat, answer["meta"]["date_range"])
        zone = None if time_zone in ("UTC", "Etc/UTC") else ZoneInfo(time_zone)
        answer["meta"]["dropped_pageviews"] = self.dropped_pageviews(
            answer["query"]["site_id"], epoch_hour(first, zone), end_hour(last, zone)
        )
        return answer
