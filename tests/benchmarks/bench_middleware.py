"""Middleware overhead per request, measured side by side in one run.

    python tests/benchmarks/bench_middleware.py      # prints the table
    pytest tests/benchmarks/bench_middleware.py      # also asserts the budgets

Three apps answer the same HTML page in-process (no server, no network): bare Starlette,
Starlette with SessionMiddleware and a valid session cookie (the handler reads the session,
so both middlewares verify a signed cookie and touch the response headers), and Starlette
with ConsentMiddleware for a returning visitor who granted analytics (the page view is
counted, the country looked up in a GeoIP database of a few thousand networks). A fourth
run floods ConsentMiddleware with a unique user agent and IP address on every request;
in-process that is printed for information, and bench_throughput.py holds it to its budget
against a bare request served by uvicorn. Rounds are interleaved and the median is kept,
so machine noise hits every app alike.
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
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from consentkit import ConsentMiddleware
from consentkit.consent.keys import DECISION_SALT

SECRET = "benchmark-secret-of-32-characters-or-more"
UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
REQUESTS = 4000
ROUNDS = 9


async def page(request: Request) -> HTMLResponse:
    return HTMLResponse("<!doctype html><p>hello</p>")


async def session_page(request: Request) -> HTMLResponse:
    request.session.get("user")
    return HTMLResponse("<!doctype html><p>hello</p>")


def scope(cookie: str, user_agent: str = UA, client: str = "203.0.113.7") -> dict[str, Any]:
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
        ],
        "client": (client, 50000),
        "server": ("example.com", 80),
    }


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def send(message: dict[str, Any]) -> None:
    pass


async def per_request(app: Any, scopes: Callable[[int], dict[str, Any]]) -> float:
    start = time.perf_counter()
    for i in range(REQUESTS):
        await app(scopes(i), receive, send)
    return (time.perf_counter() - start) / REQUESTS * 1e6


def country_database(folder: Path) -> Path:
    """A country database with a few thousand networks, so lookups walk a real tree."""
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-Country")
    codes = ["DE", "FR", "US", "GB", "JP", "BR", "IN", "NL", "SE", "ES"]
    for first in range(1, 224):
        for second in range(0, 256, 16):
            writer.insert_network(
                IPSet([f"{first}.{second}.0.0/12"]),
                {"country": {"iso_code": codes[(first + second) % 10]}},
            )
    path = folder / "countries.mmdb"
    writer.to_db_file(str(path))
    return path


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
                geoip_database=country_database(folder),
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
    flood = [
        (
            UA.replace(
                "120.0.0.0", f"{rng.randint(1, 999)}.0.{rng.randint(0, 9999)}.{rng.randint(0, 999)}"
            ),
            ".".join(str(rng.randint(1, 223 if n == 0 else 254)) for n in range(4)),
        )
        for _ in range(REQUESTS * ROUNDS)
    ]
    flood_position = 0

    def flood_scopes(i: int) -> dict[str, Any]:
        agent, address = flood[flood_position + i]
        return scope(consent_cookie, agent, address)

    runs: dict[str, list[float]] = {"bare": [], "session": [], "consent": [], "flood": []}
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
        runs["flood"].append(await per_request(consent, flood_scopes))
        flood_position += REQUESTS
    return {name: statistics.median(values) for name, values in runs.items()}


def report(figures: dict[str, float]) -> dict[str, float]:
    session_added = figures["session"] - figures["bare"]
    consent_added = figures["consent"] - figures["bare"]
    ratios = {
        "consent_vs_session_overhead": consent_added / session_added,
        "flood_vs_bare": figures["flood"] / figures["bare"],
    }
    print(f"\nper request, median of {ROUNDS} rounds of {REQUESTS} requests (in-process ASGI)")
    print(f"  bare Starlette                         {figures['bare']:7.1f} us")
    print(
        f"  + SessionMiddleware (valid cookie)     {figures['session']:7.1f} us"
        f"   adds {session_added:5.1f} us"
    )
    print(
        f"  + ConsentMiddleware (consented, count) {figures['consent']:7.1f} us"
        f"   adds {consent_added:5.1f} us"
    )
    print(f"  + ConsentMiddleware, unique UA and IP  {figures['flood']:7.1f} us")
    print(
        f"  consent overhead / session overhead    {ratios['consent_vs_session_overhead']:7.2f}"
        "   (budget <= 0.50)"
    )
    print(
        f"  unique-UA flood / bare request         {ratios['flood_vs_bare']:7.2f}"
        "   (in-process; the budget is checked under uvicorn)"
    )
    return ratios


@pytest.mark.benchmark
def test_middleware_overhead_budget() -> None:
    ratios = report(asyncio.run(measure()))
    assert ratios["consent_vs_session_overhead"] <= 0.5


if __name__ == "__main__":
    report(asyncio.run(measure()))
    sys.exit(0)
