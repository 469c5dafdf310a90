"""The ``consentkit`` command line."""

from __future__ import annotations

import argparse
import csv
import json
import os
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import ConsentkitError, QueryError
from ..store.retention import TABLES
from .common import (
    DEFAULT_STORE,
    PROG,
    STORE_HELP,
    CommandError,
    Parser,
    error_line,
    open_existing_store,
)
from .disclose import add_disclose_command
from .ledger import add_ledger_command

__all__ = ["DEFAULT_STORE", "build_parser", "main"]

DESCRIPTION = (
    "Cookie and tracking consent for ASGI apps: run a demo site, query and export the "
    "analytics, purge old rows, print the cookie disclosure, check the consent ledger."
)


def _demo(args: argparse.Namespace) -> int:
    import uvicorn

    from .demo import build_app

    secret = os.environ.get("CONSENTKIT_SECRET") or _demo_secret(args.store)
    token = os.environ.get("CONSENTKIT_ADMIN_TOKEN") or secrets.token_urlsafe(18)
    app = build_app(store=args.store, secret_key=secret, admin_token=token)
    print(f"consentkit demo on http://{args.host}:{args.port}/", flush=True)
    print(f"  dashboard:    http://{args.host}:{args.port}/consentkit/dashboard", flush=True)
    print(f"  store:        {args.store}", flush=True)
    print(f"  admin token:  {token}", flush=True)
    print(
        f"  query it:     consentkit query --store {args.store} "
        '\'{"metrics": ["visitors", "pageviews"], "date_range": "day"}\'',
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def _demo_secret(store: str) -> str:
    """A secret kept beside the demo database, so decisions survive a restart."""
    path = Path(store.removeprefix("sqlite:///") + ".secret")
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        secret = secrets.token_urlsafe(32)
        path.touch(mode=0o600)
        path.write_text(secret)
        return secret


def _query(args: argparse.Namespace) -> int:
    try:
        query = json.loads(args.query)
    except ValueError as error:
        raise CommandError(f"the query is not JSON ({error})") from None
    store = open_existing_store(args.store)
    try:
        answer = store.query(query, k_anonymity=args.k_anonymity, time_zone=args.time_zone)
    finally:
        store.close()
    _print_answer(answer, args.format)
    return 0


def _purge(args: argparse.Namespace) -> int:
    import time

    from ..store.retention import check_retention, cutoffs

    retention = check_retention(
        {name: days for name in TABLES if (days := getattr(args, f"{name}_days")) is not None}
    )
    if not retention:
        raise CommandError("say how long to keep something, e.g. --pageviews-days 760")
    store = open_existing_store(args.store)
    try:
        removed = store.purge(cutoffs(retention, time.time()))
    finally:
        store.close()
    for name, count in removed.items():
        print(f"{name}: {count} rows older than {retention[name]} days removed")
    return 0


def _export(args: argparse.Namespace) -> int:
    store = open_existing_store(args.store)
    output = open(args.output, "w", newline="") if args.output else sys.stdout  # noqa: SIM115
    try:
        rows = store.export(args.table)
        if args.format == "jsonl":
            for row in rows:
                output.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            first = next(rows, None)
            if first is not None:
                writer = csv.DictWriter(output, fieldnames=list(first))
                writer.writeheader()
                writer.writerow(first)
                writer.writerows(rows)
    finally:
        store.close()
        if output is not sys.stdout:
            output.close()
    return 0


def _print_answer(answer: dict[str, Any], form: str) -> None:
    if form == "json":
        print(json.dumps(answer, indent=2))
        return
    query = answer["query"]
    header = [*query["dimensions"], *query["metrics"]]
    rows = [[*r["dimensions"], *r["metrics"]] for r in answer["results"]]
    if form == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(header)
        writer.writerows(rows)
        return
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=False)]
    for line in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=False)).rstrip())


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog=PROG, description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run a demo site with the banner on SQLite")
    demo.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    demo.add_argument("--port", type=int, default=8000, help="the port to listen on")
    demo.add_argument(
        "--store",
        default="sqlite:///consentkit-demo.sqlite3",
        help="the store's URL (created if it does not exist)",
    )
    demo.set_defaults(run=_demo)
    query = commands.add_parser("query", help="run an analytics query (JSON, as the HTTP API)")
    query.add_argument("query", help='e.g. \'{"metrics": ["visitors"], "date_range": "7d"}\'')
    query.add_argument("--store", default=DEFAULT_STORE, help=STORE_HELP)
    query.add_argument(
        "--format",
        choices=["table", "json", "csv"],
        default="table",
        help="how to print the answer",
    )
    query.add_argument(
        "--time-zone",
        default="UTC",
        help="the zone that days and hours are read in, e.g. Europe/Berlin",
    )
    query.add_argument(
        "--k-anonymity",
        type=int,
        default=None,
        metavar="K",
        help="fold rows with fewer than K visitors into (other) (default: no folding)",
    )
    query.set_defaults(run=_query)
    purge = commands.add_parser("purge", help="delete rows older than the retention you give")
    purge.add_argument("--store", default=DEFAULT_STORE, help=STORE_HELP)
    for name in TABLES:
        purge.add_argument(
            f"--{name.replace('_', '-')}-days",
            type=int,
            default=None,
            metavar="DAYS",
            dest=f"{name}_days",
            help=f"keep {name.replace('_', ' ')} this many days (default: keep them all)",
        )
    purge.set_defaults(run=_purge)
    export = commands.add_parser("export", help="write the aggregates as CSV or JSON Lines")
    export.add_argument("--store", default=DEFAULT_STORE, help=STORE_HELP)
    export.add_argument(
        "--table",
        choices=["pageviews", "consent_stats"],
        default="pageviews",
        help="what to export",
    )
    export.add_argument("--format", choices=["csv", "jsonl"], default="csv", help="how to write it")
    export.add_argument("--output", help="a file to write (default: standard output)")
    export.set_defaults(run=_export)
    add_disclose_command(commands)
    add_ledger_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
        sys.stdout.flush()  # here, where a closed pipe can still be answered quietly
    except BrokenPipeError:
        # The reader went away (`consentkit query ... | head -1`). As Python's docs advise
        # (library/signal, "Note on SIGPIPE"): send the rest to devnull, so that the flush
        # at exit fails no more, and stop with status 1 and no traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except OSError as error:  # a file to write that cannot be: a folder missing, no rights
        return _fail(error, 1)
    except QueryError as error:
        return _fail(f"bad query: {error}", 2)
    except CommandError as error:
        return _fail(error, error.status)
    except ConsentkitError as error:
        return _fail(error, 1)
    return code


def _fail(message: object, status: int) -> int:
    print(error_line(message), file=sys.stderr)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
