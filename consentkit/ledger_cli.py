"""``consentkit ledger verify`` and ``consentkit ledger head``: check the consent ledger's
hash chain, and print the head to publish elsewhere."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from .ledger_verify import LedgerReport


def add_ledger_command(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``ledger`` with its ``verify`` and ``head`` commands to consentkit's parser."""
    from .cli import DEFAULT_STORE  # here, not at the top: cli.py imports this module

    ledger = subparsers.add_parser("ledger", help="check the consent ledger's hash chain")
    commands = ledger.add_subparsers(dest="ledger_command", required=True)
    verify = commands.add_parser(
        "verify", help="check every record against the chain; exit 1 if any is wrong"
    )
    verify.add_argument("--store", default=DEFAULT_STORE)
    verify.add_argument(
        "--anchor", action="append", default=[], metavar="HASH",
        help="a head published earlier, which must still be in the chain (repeatable)",
    )
    verify.set_defaults(run=_verify)
    head = commands.add_parser("head", help="print the chain hash of the last record")
    head.add_argument("--store", default=DEFAULT_STORE)
    head.set_defaults(run=_head)


def _verify(args: argparse.Namespace) -> int:
    from .store import open_store

    if _missing(args.store):
        return 2
    store = open_store(args.store)
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
    from .store import open_store

    if _missing(args.store):
        return 2
    store = open_store(args.store)
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


def _missing(store: str) -> bool:
    """Whether ``store`` names a SQLite file that does not exist: opening it would create
    an empty ledger, which verifies, and hide a mistyped path."""
    path = store.removeprefix("sqlite:///")
    if store.startswith("sqlite:///") and not os.path.exists(path):
        print(f"consentkit ledger: no database at {path}", file=sys.stderr)
        return True
    return False
