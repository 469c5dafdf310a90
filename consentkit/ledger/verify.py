"""Verifying the consent ledger: every record against its hash chain (the first chain, then
each site's), its commitment to the visitor and the banner configuration it points at, then
each chain's head.

The stores read the rows (``StoredRecord``) and call ``verify_records``; the hashing itself
is in ``ledger.py``, shared with appending.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from .chain import (
    GENESIS,
    ChainHead,
    LedgerEntry,
    chain_hash,
    config_hash_of,
    subject_commitment,
)


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """One ledger row as a store reads it back. ``subject`` and ``salt`` are None once the
    record is erased; ``chain`` is None for a row written without one."""

    id: int
    entry: LedgerEntry
    chain: str | None
    subject: str | None
    salt: str | None


@dataclass(frozen=True, slots=True)
class LedgerReport:
    """The outcome of verifying the ledger: ``problems`` name each record found wrong, in
    ledger order; ``ok`` when there are none. ``heads``: per site, the chain hash of the
    last record verified in its chain, the value to publish or compare with one published
    earlier; ``head`` is that of the one chain when there is one (several sites: ``""``,
    see ``heads``)."""

    ok: bool
    records: int
    erased: int
    problems: list[str]
    purged: int = 0
    head: str = GENESIS
    heads: dict[str, str] = field(default_factory=dict)


def verify_records(
    records: Iterable[StoredRecord],
    *,
    head: ChainHead | None,
    configs: Mapping[str, str],
    anchors: Collection[str] = (),
    site_records: Iterable[StoredRecord] = (),
    site_heads: Mapping[str, ChainHead] | None = None,
) -> LedgerReport:
    """Check every record, in ledger order, against its chain, its subject commitment and
    its banner configuration (``configs``: config hash -> stored configuration), then each
    chain's head against its last record.

    ``records`` and ``head`` are the first chain, which every site shared before schema
    version 5 (in id order); ``site_records`` the records of the sites' own chains, ordered
    by site and id, and ``site_heads`` their heads. Each hash in ``anchors`` (heads
    published earlier) must still be a chain hash of some chain of the ledger.
    """
    findings = _Findings(configs, anchors)
    first = _ChainWalk(findings, head, where="ledger")
    for record in records:
        first.visit(record)
    first.finish()
    heads = dict(site_heads or {})
    walks = {}
    walk: _ChainWalk | None = None
    for record in site_records:
        site = record.entry.site
        if walk is None or walk.site != site:
            if walk is not None:
                walk.finish()
            walk = walks[site] = _site_walk(findings, site, heads.pop(site, None), head)
        walk.visit(record)
    if walk is not None:
        walk.finish()
    for site in sorted(heads):  # chains whose every record is gone
        walks[site] = _site_walk(findings, site, heads[site], head)
        walks[site].finish()
    every = [first, *walks.values()]
    problems = findings.problems + [
        f"anchor {anchor}: not a chain hash of this ledger: the chain was rebuilt, "
        "or the records up to it were purged"
        for anchor in findings.anchors
    ]
    site_heads_now = {site: w.previous for site, w in sorted(walks.items())}
    if not site_heads_now:
        one = first.previous
    elif len(site_heads_now) == 1:
        one = next(iter(site_heads_now.values()))
    else:
        one = ""
    return LedgerReport(
        ok=not problems,
        records=sum(w.records for w in every),
        erased=sum(w.erased for w in every),
        problems=problems,
        purged=sum(w.head.purged for w in every),
        head=one,
        heads=site_heads_now,
    )


class _Findings:
    """What one verification found wrong so far, over all chains."""

    def __init__(self, configs: Mapping[str, str], anchors: Collection[str]) -> None:
        self.problems: list[str] = []
        self.configs = configs
        self.configs_seen: set[str] = set()
        self.anchors = dict.fromkeys(anchors)  # ordered, so problems keep the order given

    def config(self, record: StoredRecord) -> None:
        config_hash = record.entry.config_hash
        if config_hash not in self.configs_seen:
            self.configs_seen.add(config_hash)
            problem = _config_problem(config_hash, self.configs)
            if problem:
                self.problems.append(f"record {record.id}: {problem}")


def _site_walk(
    findings: _Findings, site: str, head: ChainHead | None, first: ChainHead | None
) -> _ChainWalk:
    where = f"site {site!r}"
    if head is None:
        findings.problems.append(
            f"{where}: its chain head is missing (its row of ck_ledger_heads was deleted)"
        )
    elif first is not None and head.purged == 0 and head.base != first.head:
        findings.problems.append(
            f"{where}: its chain does not start where the first chain ends"
            " (the head or the first chain was edited)"
        )
    return _ChainWalk(findings, head, where=where, site=site, reported=True)


class _ChainWalk:
    """The state of one chain's verification pass: where the chain should continue."""

    def __init__(
        self,
        findings: _Findings,
        head: ChainHead | None,
        *,
        where: str,
        site: str | None = None,
        reported: bool = False,
    ) -> None:
        self.findings = findings
        self.where = where
        self.site = site
        self.head_missing = head is None
        if head is None and not reported:
            findings.problems.append("ledger: the chain head is missing (ck_ledger_head emptied)")
        self.head = head or ChainHead(records=0, head=GENESIS)
        findings.anchors.pop(self.head.base, None)
        self.position = self.head.purged  # of the last record seen
        self.previous = self.head.base  # its chain hash
        self.last_id: int | None = None
        self.records = self.erased = 0

    def visit(self, record: StoredRecord) -> None:
        self.records += 1
        self.erased += record.subject is None
        problem = _record_problem(record, self.position + 1, self.previous)
        if problem:
            self.findings.problems.append(f"record {record.id}: {problem}")
        self.findings.config(record)
        self._follow(record)
        self.last_id = record.id

    def _follow(self, record: StoredRecord) -> None:
        """Carry on from what is stored, so that one bad record is reported once, not again
        as a broken link in every record after it; a record from further back (moved) is
        stepped over."""
        if record.chain is None:
            self.position += 1
        elif record.entry.position > self.position:
            self.position, self.previous = record.entry.position, record.chain
            self.findings.anchors.pop(record.chain, None)

    def finish(self) -> None:
        problem = self._head_problem()
        if problem:
            self.findings.problems.append(problem)

    def _head_problem(self) -> str | None:
        if self.head_missing:
            return None  # reported already; there is nothing to compare with
        where = self.where if self.last_id is None else f"record {self.last_id}"
        counted = self.head.records
        if counted > self.position:
            return (
                f"{where}: the chain head counts {counted:,} records but the ledger ends at "
                f"position {self.position:,}: the last {counted - self.position:,} were removed"
            )
        if counted < self.position:
            return (
                f"{where}: at position {self.position:,}, past the chain head "
                f"({counted:,} records): the head was edited or records were added around it"
            )
        if self.head.head != self.previous:
            return f"{where}: does not match the chain head (the head or the record was edited)"
        return None


def _record_problem(record: StoredRecord, position: int, previous: str) -> str | None:
    """What is wrong with one record expected at ``position`` after chain hash
    ``previous``: only the first thing found, since one edit can break several checks."""
    entry = record.entry
    if record.chain is None:
        return "has no chain hash (written by a consentkit release without the ledger chain?)"
    if entry.position > position:
        missing = entry.position - position
        return f"at position {entry.position:,} where {position:,} was expected: " + (
            f"{missing:,} record(s) before it were removed or moved"
        )
    if entry.position < position:
        return f"at position {entry.position:,} where {position:,} was expected: moved"
    if record.chain != chain_hash(previous, entry):
        return "does not match its chain hash: a field was edited after it was written"
    if record.subject is None:
        return "is erased but still holds its salt" if record.salt is not None else None
    if not _commits_to(record.salt, record.subject, entry.commitment):
        return "its subject does not match its commitment: the subject or salt was edited"
    return None


def _commits_to(salt: str | None, subject: str, commitment: str) -> bool:
    try:
        return salt is not None and subject_commitment(salt, subject) == commitment
    except ValueError:  # a salt edited into something that is not hex
        return False


def _config_problem(config_hash: str, configs: Mapping[str, str]) -> str | None:
    config = configs.get(config_hash)
    if config is None:
        return f"its banner configuration {config_hash} is not stored"
    if config_hash_of(config) != config_hash:
        return (
            f"its banner configuration {config_hash} was edited (the stored text no longer "
            "has that SHA-256)"
        )
    return None
