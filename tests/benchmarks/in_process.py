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

With ``--cold`` (after the app, or after ``--timed``), the second-level cache is emptied
before each request (``evict``), as a server's own work between two requests of a
connection (its system calls, its parser, the other connections' requests) partly does:
served back to back, a request finds its code and data where the one before left them;
under a server, much of it has to come from further away. ``APP`` may then be
``nothing``: the eviction alone, for its cost to be taken out of the others'.
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
COLD_REQUESTS = 500  # counted under callgrind with --cold (each with 2 MB evicted first)
WARM_UP = 300
TIMED_REQUESTS = 1500  # a timed round
ROUNDS = 25
COLD_TIMED = 4000  # requests of each app timed one by one with --cold, the apps in turn
EVICTED = 2 << 20  # bytes read before each request with --cold: twice this machine's
# second-level cache (1 MB per core), well within the third (shared)


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


async def serve(app: Any, n: int, evicted: bytearray | None = None) -> None:
    for _ in range(n):
        if evicted is not None:
            evict(evicted)
        await app(scope(), receive, send)


def evict(buffer: bytearray) -> None:
    """Reads a byte of each 64-byte line of ``buffer`` (a slice with a step, in C): lines
    of code and data used before are pushed out of the caches it does not fit in."""
    buffer[::64]


async def nothing(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """No app at all (``--cold``'s ``nothing``: the eviction's own cost)."""


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


async def timed_cold(apps: dict[str, Any]) -> dict[str, float]:
    """Each request timed alone, after the eviction (``--cold``): the apps in turn, request
    by request, so that whatever else the machine does falls on all of them alike; the
    median per app, in µs of wall time (the CPU time of a thread costs a system call to
    read, which would bring in code of its own)."""
    evicted = bytearray(EVICTED)
    runs: dict[str, list[int]] = {name: [] for name in apps}
    for app in apps.values():
        await serve(app, WARM_UP)
    clock = time.perf_counter_ns
    for _ in range(COLD_TIMED):
        for name, app in apps.items():
            evict(evicted)
            request = scope()
            start = clock()
            await app(request, receive, send)
            runs[name].append(clock() - start)
    return {name: statistics.median(values) / 1000 for name, values in runs.items()}


def counted(app: Any, *, cold: bool = False) -> None:
    """Under callgrind: the warm-up uncounted, then ``REQUESTS`` counted (callgrind's
    counters zeroed before them and dumped after), all on one event loop; with ``cold``,
    ``COLD_REQUESTS``, each after the eviction."""
    evicted = bytearray(EVICTED) if cold else None
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(serve(app, WARM_UP, evicted))
        _control("-z", os.getpid())
        loop.run_until_complete(serve(app, COLD_REQUESTS if cold else REQUESTS, evicted))
        _control("-d", os.getpid())
    finally:
        loop.close()


if __name__ == "__main__":
    cold = "--cold" in sys.argv[2:]
    if sys.argv[1] == "--timed":  # the apps timed, in a process of their own: the figures as JSON
        print(json.dumps(asyncio.run((timed_cold if cold else timed)(load_apps()))))
    else:
        counted(nothing if sys.argv[1] == "nothing" else load_apps()[sys.argv[1]], cold=cold)
