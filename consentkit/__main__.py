"""``python -m consentkit``: the same command line as ``consentkit``."""

from .cli import main

raise SystemExit(main())
