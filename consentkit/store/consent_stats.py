"""What a batch of decisions adds beside the ledger: the consent statistics (one row per
hour, place, browser, action and category in ``ck_consent_stats``) and the banner
configurations shown (``ck_banner_configs``), for either backend."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..ledger.records import ConsentTally, DecisionRecord

SAVE_CONFIG = (
    "INSERT INTO ck_banner_configs (config_hash, config) VALUES (?, ?)"
    " ON CONFLICT (config_hash) DO NOTHING"
)
UPSERT_CONSENT = """
INSERT INTO ck_consent_stats
    (site, hour, country, device, browser, action, category, decisions, granted)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (site, hour, country, device, browser, action, category) DO UPDATE SET
    decisions = ck_consent_stats.decisions + excluded.decisions,
    granted = ck_consent_stats.granted + excluded.granted
"""


@dataclass(frozen=True, slots=True)
class Decision:
    """One decision as a store appends it: the ledger record, its line in the consent
    statistics, and the banner configuration shown (canonical JSON)."""

    record: DecisionRecord
    tally: ConsentTally
    config: str
    # Tried before, by a transaction whose outcome is unknown (the spool's drain): stored
    # already if it is its visitor's latest ledger record (see LedgerRows.append).
    retried: bool = False


def consent_rows(decisions: Iterable[Decision]) -> list[tuple[Any, ...]]:
    """The consent statistics of ``decisions``, added up per row of ck_consent_stats (the
    category ``*`` counts decisions, the others grants), in key order so that concurrent
    batches lock the rows they share in the same order."""
    counts: dict[tuple[Any, ...], list[int]] = {}
    for decision in decisions:
        tally = decision.tally
        place = (
            decision.record.site,
            tally.hour,
            tally.country,
            tally.device,
            tally.browser,
            tally.action,
        )
        for category, granted in (
            ("*", 0),
            *((name, int(name in tally.granted)) for name in tally.offered),
        ):
            count = counts.setdefault((*place, category), [0, 0])
            count[0] += 1
            count[1] += granted
    return [(*key, decisions_, granted) for key, (decisions_, granted) in sorted(counts.items())]
