"""The system's clock as the request path reads it: ``wall()`` is ``time.time()``.

The compiled request path (``consentkit/compiled.py``) reads the same clock through
``clocks.pxd``: CPython's own function for ``time.time``, called from C. A returning
visitor's request reads the clock once (its decision may have lapsed), and under a server
the call through Python's machinery (the float made and read back, the builtin's wrapper)
fetches more code than the clock itself: docs/performance.md.
"""

from __future__ import annotations

from time import time as wall

__all__ = ["wall"]
