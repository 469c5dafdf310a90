"""The ``consentkit`` command line (``python -m consentkit``); see ``consentkit --help``."""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``consentkit`` command; the exit status."""
    from .main import main as run  # here, so that importing consentkit.cli costs nothing

    return run(argv)


__all__ = ["main"]
