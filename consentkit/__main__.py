"""``python -m consentkit``: the same command line as ``consentkit``."""

from .cli.main import main

raise SystemExit(main())
