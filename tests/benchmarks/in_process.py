"""The returning visitor's request in-process, with no server: timed, and counted under
callgrind's cache and branch simulation (``bench_instructions.py --in-process``).

The apps are those of ``throughput_apps.py`` (bare Starlette, the floor: a minimal
middleware adding ``Vary: Cookie``, and ``ConsentMiddleware`` with the country database
configured), called with bench_throughput.py's returning visitor (both cookies, a Chrome
user agent, an address of the country database from the trusted proxy). Without a server
between two requests, the simulation's estimate of cycles can be held against the CPU
time of the same requests: where the two agree, the simulation says where the time goes.

    python in_process.py APP       # under callgrind: warm up, then REQUESTS counted requests
    python in_process.py --timed   # the apps timed (printed as JSON)
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from typing import Any

from bench_instructions import _control
from bench_middleware import receive, send
from bench_throughput import CHROME, RETURNING_COOKIE
from geo_data import country_database

APPS = ("bare", "vary_only", "consent")
REQUESTS = 2000  # counted under callgrind
WARM_UP = 300
TIMED_REQUESTS = 1500  # a timed round
ROUNDS = 25


def scope() -> dict[str, Any]:
    """A new scope for the returning visitor's request, as uvicorn makes one."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": "GET",
        "root_path": "",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"user-agent", CHROME.encode()),
            (b"accept", b"text/html"),
            (b"x-forwarded-for", b"81.2.69.142"),
            (b"cookie", RETURNING_COOKIE.encode()),
        ],
        "state": {},
    }


def load_apps() -> dict[str, Any]:
    """throughput_apps' apps, the country database configured and no flush among the
    requests (as bench_instructions.py's servers). Under callgrind the database is the
    one the parent process built (``CONSENTKIT_BENCH_GEOIP``): building it there would
    take minutes."""
    if not os.environ.get("CONSENTKIT_BENCH_GEOIP"):
        os.environ["CONSENTKIT_BENCH_GEOIP"] = str(country_database())
    os.environ["CONSENTKIT_BENCH_FLUSH_INTERVAL"] = "3600"
    import throughput_apps

    return {name: getattr(throughput_apps, name) for name in APPS}


async def serve(app: Any, n: int) -> None:
    for _ in range(n):
        await app(scope(), receive, send)


async def timed(apps: dict[str, Any]) -> dict[str, float]:
    """CPU time of this thread per request, in µs: the median of ``ROUNDS`` rounds, the
    apps in turn within each round."""
    runs: dict[str, list[float]] = {name: [] for name in apps}
    for app in apps.values():
        await serve(app, WARM_UP)
    for _ in range(ROUNDS):
        for name, app in apps.items():
            start = time.thread_time()
            await serve(app, TIMED_REQUESTS)
            runs[name].append((time.thread_time() - start) / TIMED_REQUESTS * 1e6)
    return {name: statistics.median(values) for name, values in runs.items()}


def counted(app: Any) -> None:
    """Under callgrind: the warm-up uncounted, then ``REQUESTS`` counted (callgrind's
    counters zeroed before them and dumped after), all on one event loop."""
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(serve(app, WARM_UP))
        _control("-z", os.getpid())
        loop.run_until_complete(serve(app, REQUESTS))
        _control("-d", os.getpid())
    finally:
        loop.close()


if __name__ == "__main__":
    if sys.argv[1] == "--timed":  # the apps timed, in a process of their own: the figures as JSON
        print(json.dumps(asyncio.run(timed(load_apps()))))
    else:
        counted(load_apps()[sys.argv[1]])
