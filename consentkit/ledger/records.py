"""What the ledger keeps of one consent decision, and what it is appended to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """One consent decision, as the ledger keeps it: no IP, no user agent, no raw cookie."""

    site: str
    subject: str  # keyed hash of the visitor's decision ID
    decided_at: int  # Unix seconds
    policy_version: str
    action: str  # accept_all | reject_all | custom | gpc | withdraw
    categories: tuple[str, ...]  # granted, "necessary" included
    language: str
    config_hash: str  # hash of the banner configuration and texts shown


@dataclass(frozen=True, slots=True)
class ConsentTally:
    """Aggregated consent statistics for one decision (for consent analytics)."""

    hour: int
    country: str
    device: str
    browser: str
    action: str
    offered: tuple[str, ...]  # the optional categories offered
    granted: tuple[str, ...]


class DecisionSink(Protocol):
    """Where decisions are appended: the store, or the spool while the store is away."""

    def append_decision(
        self, record: DecisionRecord, tally: ConsentTally, config: str, *, retried: bool = False
    ) -> None:
        """Append one decision durably, before the visitor is answered (``retried``: see
        ``Store.append_decision``)."""
