"""Middleware overhead per request, measured side by side in one run.

    python tests/benchmarks/bench_middleware.py      # prints the table
    pytest tests/benchmarks/bench_middleware.py -s   # also asserts the budgets

The same HTML page answered in-process (no server, no network), timed in CPU time of the
request thread (``time.thread_time``: what other processes on the machine do barely moves
it), by:

- bare Starlette;
- Starlette with SessionMiddleware and a valid session cookie (the handler reads the
  session, so both middlewares verify a signed cookie and touch the response headers);
- Starlette with ConsentMiddleware as a real site runs it: a country database configured
  (``geo_data.py``), the client's address in ``X-Forwarded-For`` from a trusted proxy,
  for a returning visitor who granted analytics (the page view is counted), and for a
  visitor who has not decided yet;
- a flood of ConsentMiddleware: every request a new visitor ID, a new address and a user
  agent from uap-core's test_ua.yaml (new to the classifier's cache, mostly); printed
  against a bare request (bench_throughput.py checks it under real servers). A visitor
  with an ID has a new user agent classified by the flush, in the flusher's thread: that
  work is timed apart, on what the run counted, and printed beside.

Rounds are interleaved and the median kept. Budgets (DESIGN section 8, issue 14): the
returning visitor's overhead <= 0.3x SessionMiddleware's, the undecided visitor's <= 0.15x.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import itsdangerous
import pytest
from geo_data import country_database
from realistic_site import corpus_agents
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from consentkit import ConsentMiddleware
from consentkit.analytics.buffer import classify_deferred
from consentkit.cli.app_loading import app_layers
from consentkit.compiled import is_compiled
from consentkit.consent.cookies import new_token
from consentkit.consent.keys import DECISION_SALT

SECRET = "benchmark-secret-of-32-characters-or-more"
UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
REQUESTS = 4000
ROUNDS = 9
ADDRESS = "81.2.69.142"


async def page(request: Request) -> HTMLResponse:
    return HTMLResponse("<!doctype html><p>hello</p>")


async def session_page(request: Request) -> HTMLResponse:
    request.session.get("user")
    return HTMLResponse("<!doctype html><p>hello</p>")


def scope(cookie: str, user_agent: str = UA, address: str = ADDRESS) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"example.com"),
            (b"user-agent", user_agent.encode()),
            (b"accept", b"text/html"),
            (b"cookie", cookie.encode()),
            (b"x-forwarded-for", address.encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("example.com", 80),
    }


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def send(message: dict[str, Any]) -> None:
    pass


async def per_request(app: Any, scopes: Callable[[int], dict[str, Any]]) -> float:
    start = time.thread_time()
    for i in range(REQUESTS):
        await app(scopes(i), receive, send)
    return (time.thread_time() - start) / REQUESTS * 1e6


async def measure() -> dict[str, float]:
    folder = Path(tempfile.mkdtemp())
    bare = Starlette(routes=[Route("/", page)])
    session = Starlette(
        routes=[Route("/", session_page)],
        middleware=[Middleware(SessionMiddleware, secret_key=SECRET)],
    )
    consent = Starlette(
        routes=[Route("/", page)],
        middleware=[
            Middleware(
                ConsentMiddleware,
                secret_key=SECRET,
                store=f"sqlite:///{folder / 'bench.sqlite3'}",
                geoip_database=country_database(),
                trusted_proxies=["127.0.0.1"],
                flush_interval=3600,
            )
        ],
    )
    signer = itsdangerous.TimestampSigner(SECRET)
    session_cookie = (
        "session=" + signer.sign(base64.b64encode(json.dumps({"user": 42}).encode())).decode()
    )
    decision = (
        itsdangerous.TimestampSigner(SECRET, salt=DECISION_SALT)
        .sign("1|analytics|AAAAAAAAAAAAAAAAAAAAAA")
        .decode()
    )
    consent_cookie = f"consentkit={decision}; consentkit_id=BBBBBBBBBBBBBBBBBBBBBB"
    rng = random.Random(7)
    agents = corpus_agents()
    flood = [
        (
            f"consentkit={decision}; consentkit_id={new_token()}",
            agents[n % len(agents)],
            ".".join(str(rng.randint(1, 223 if k == 0 else 254)) for k in range(4)),
        )
        for n in range(REQUESTS * ROUNDS)
    ]
    rng.shuffle(flood)
    flood_position = 0

    def flood_scopes(i: int) -> dict[str, Any]:
        cookie, agent, address = flood[flood_position + i]
        return scope(cookie, agent, address)

    runs: dict[str, list[float]] = {
        "bare": [], "session": [], "consent": [], "undecided": [], "flood": []
    }  # fmt: skip
    for _name, app, cookie in (
        ("bare", bare, ""),
        ("session", session, session_cookie),
        ("consent", consent, consent_cookie),
    ):
        await per_request(app, lambda i, c=cookie: scope(c))  # warm up
    for _ in range(ROUNDS):
        runs["bare"].append(await per_request(bare, lambda i: scope("")))
        runs["session"].append(await per_request(session, lambda i: scope(session_cookie)))
        runs["consent"].append(await per_request(consent, lambda i: scope(consent_cookie)))
        runs["undecided"].append(await per_request(consent, lambda i: scope("")))
        runs["flood"].append(await per_request(consent, flood_scopes))
        flood_position += REQUESTS
    figures = {name: statistics.median(values) for name, values in runs.items()}
    figures["flood_flush"] = flush_classification(consent, REQUESTS * ROUNDS)
    return figures


def flush_classification(app: Starlette, flood_requests: int) -> float:
    """CPU per flood request that the flush spends classifying the user agents the request
    path left to it (in the flusher's thread; here in this one, on everything counted)."""
    middleware = next(m for m in app_layers(app) if isinstance(m, ConsentMiddleware))
    counted = middleware.counter.tally.take()
    start = time.thread_time()
    classify_deferred(counted, middleware.visitor.agent)
    return (time.thread_time() - start) / flood_requests * 1e6


def report(figures: dict[str, float]) -> dict[str, float]:
    session_added = figures["session"] - figures["bare"]
    consent_added = figures["consent"] - figures["bare"]
    undecided_added = figures["undecided"] - figures["bare"]
    ratios = {
        "consent_vs_session_overhead": consent_added / session_added,
        "undecided_vs_session_overhead": undecided_added / session_added,
        "flood_vs_bare": figures["flood"] / figures["bare"],
    }
    print(f"\nCPU per request, median of {ROUNDS} rounds of {REQUESTS} (in-process, GeoIP on)")
    print("  request path:", "compiled" if is_compiled() else "pure Python")
    rows = [
        ("bare Starlette", "bare"),
        ("+ SessionMiddleware (valid cookie)", "session"),
        ("+ ConsentMiddleware, returning, counted", "consent"),
        ("+ ConsentMiddleware, no decision yet", "undecided"),
        ("+ ConsentMiddleware, flood (all new)", "flood"),
    ]
    for label, name in rows:
        added = figures[name] - figures["bare"]
        print(f"  {label:42} {figures[name]:6.1f} us   adds {added:6.1f} us")
    returning, undecided = (
        ratios["consent_vs_session_overhead"],
        ratios["undecided_vs_session_overhead"],
    )
    print(f"  returning overhead / session overhead      {returning:6.2f}"
          "   (budget <= 0.30)")  # fmt: skip
    print(f"  undecided overhead / session overhead      {undecided:6.2f}"
          "   (budget <= 0.15)")  # fmt: skip
    print(f"  flood request / bare request               {ratios['flood_vs_bare']:6.2f}"
          "   (in-process; bench_throughput.py checks it under servers)")  # fmt: skip
    flush = figures["flood_flush"]
    print(f"  + the flood's user agents classified at the flush (flusher's thread): {flush:.1f} us"
          f" a request; both: {(figures['flood'] + flush) / figures['bare']:.2f}x a bare"
          " request")  # fmt: skip
    return ratios


@pytest.mark.benchmark
def test_middleware_overhead_budget() -> None:
    ratios = report(asyncio.run(measure()))
    assert ratios["consent_vs_session_overhead"] <= 0.3
    assert ratios["undecided_vs_session_overhead"] <= 0.15


if __name__ == "__main__":
    report(asyncio.run(measure()))
    sys.exit(0)
