"""What every ``consentkit`` command shares: a parser whose help shows each option's
default and whose errors read ``consentkit: error: ...``, the error a command stops with,
and opening a store that must already exist."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any, NoReturn

from ..errors import ConsentkitError

if TYPE_CHECKING:
    from ..store import Store

PROG = "consentkit"
DEFAULT_STORE = "sqlite:///consentkit.sqlite3"
STORE_HELP = "the store's URL: sqlite:///path.sqlite3 (which must exist) or postgresql://..."


class CommandError(ConsentkitError):
    """A command cannot do what it was asked: printed as ``consentkit: error: <message>``,
    and the command exits with ``status`` (2, as for a wrong argument, unless told)."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


def error_line(message: object) -> str:
    """Every error the command line prints starts the same way, argparse's included."""
    return f"{PROG}: error: {message}"


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default, unless it has none or its help already says it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        default = action.default
        if default is None or default is False or default == [] or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """consentkit's parser; sub-commands made from it are of this class too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, error_line(message) + "\n")


def open_existing_store(url: str) -> Store:
    """The store at ``url``; for SQLite, only if the file exists.

    Opening a SQLite path creates an empty database, which answers every query with
    nothing and every ledger check with "OK": a mistyped path would look like an empty site.
    """
    from ..store import open_store
    from ..store.sqlite_files import sqlite_path

    if url.startswith("sqlite:"):
        path = sqlite_path(url)
        if not os.path.exists(path):
            raise CommandError(f"no database at {path} (check --store)")
    return open_store(url)
