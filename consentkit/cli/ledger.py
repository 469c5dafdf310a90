"""``consentkit ledger verify`` and ``consentkit ledger head``: check the consent ledger's
hash chains (one per site), and print their heads to publish elsewhere."""

from __future__ import annotations

import argparse
from typing import Any

from ..ledger.verify import LedgerReport
from .common import DEFAULT_STORE, STORE_HELP, open_existing_store


def add_ledger_command(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``ledger`` with its ``verify`` and ``head`` commands to consentkit's parser."""
    ledger = subparsers.add_parser("ledger", help="check the consent ledger's hash chain")
    commands = ledger.add_subparsers(dest="ledger_command", required=True)
    verify = commands.add_parser(
        "verify", help="check every record against the chain; exit 1 if any is wrong"
    )
    verify.add_argument("--store", default=DEFAULT_STORE, help=STORE_HELP)
    verify.add_argument(
        "--anchor",
        action="append",
        default=[],
        metavar="HASH",
        help="a head published earlier, which must still be in the chain "
        "(repeatable; default: none)",
    )
    verify.set_defaults(run=_verify)
    head = commands.add_parser(
        "head", help="print the chain hash of the last record of each site's chain"
    )
    head.add_argument("--store", default=DEFAULT_STORE, help=STORE_HELP)
    head.add_argument(
        "--site", default=None, help="print only this site's head (default: every site's)"
    )
    head.set_defaults(run=_head)


def _verify(args: argparse.Namespace) -> int:
    store = open_existing_store(args.store)
    try:
        report = store.verify_ledger(anchors=args.anchor)
    finally:
        store.close()
    if report.ok:
        print(f"ledger OK: {_summary(report)}")
        _print_heads(report.heads or {"": report.head})
        return 0
    for problem in report.problems:
        print(problem)
    print(f"ledger NOT OK: {len(report.problems):,} problem(s) in {_summary(report)}")
    return 1


def _head(args: argparse.Namespace) -> int:
    store = open_existing_store(args.store)
    try:
        if args.site is not None:
            heads = {args.site: store.ledger_head(args.site)}
        else:
            heads = store.ledger_heads() or {"": store.ledger_head()}
    finally:
        store.close()
    _print_heads(heads)
    return 0


def _print_heads(heads: dict[str, str]) -> None:
    """One line per chain, as ``sha256sum`` prints files: the hash, two spaces, the site
    (nothing for the first chain of a ledger that has no site's chain yet)."""
    for site, head in heads.items():
        print(f"{head}  {site}".rstrip())


def _summary(report: LedgerReport) -> str:
    notes = [f"{report.erased:,} erased"]
    if report.purged:
        notes.append(f"{report.purged:,} purged before them")
    noun = "record" if report.records == 1 else "records"
    return f"{report.records:,} {noun} ({', '.join(notes)})"
