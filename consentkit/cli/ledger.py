"""``consentkit ledger verify`` and ``consentkit ledger head``: check the consent ledger's
hash chain, and print the head to publish elsewhere."""

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
    head = commands.add_parser("head", help="print the chain hash of the last record")
    head.add_argument("--store", default=DEFAULT_STORE, help=STORE_HELP)
    head.set_defaults(run=_head)


def _verify(args: argparse.Namespace) -> int:
    store = open_existing_store(args.store)
    try:
        report = store.verify_ledger(anchors=args.anchor)
    finally:
        store.close()
    if report.ok:
        print(f"ledger OK: {_summary(report)}, head {report.head}")
        return 0
    for problem in report.problems:
        print(problem)
    print(f"ledger NOT OK: {len(report.problems):,} problem(s) in {_summary(report)}")
    return 1


def _head(args: argparse.Namespace) -> int:
    store = open_existing_store(args.store)
    try:
        print(store.ledger_head())
    finally:
        store.close()
    return 0


def _summary(report: LedgerReport) -> str:
    notes = [f"{report.erased:,} erased"]
    if report.purged:
        notes.append(f"{report.purged:,} purged before them")
    noun = "record" if report.records == 1 else "records"
    return f"{report.records:,} {noun} ({', '.join(notes)})"
