"""Hello-world apps for bench_throughput.py, served in a subprocess by each server.

``bare`` is Starlette alone; ``consent`` adds ConsentMiddleware as a real site runs it: a
SQLite store, the country database of ``CONSENTKIT_BENCH_GEOIP`` (see geo_data.py), and
the load generator's address trusted as a proxy, so that each request's
``X-Forwarded-For`` is looked up.
"""

from __future__ import annotations

import os
import tempfile

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from consentkit import ConsentMiddleware

SECRET = "throughput-secret-of-32-characters-or-more"


async def hello(request: Request) -> HTMLResponse:
    return HTMLResponse("<!doctype html><title>Hello</title><p>Hello, world</p>")


bare = Starlette(routes=[Route("/", hello)])
consent = ConsentMiddleware(
    Starlette(routes=[Route("/", hello)]),
    secret_key=SECRET,
    store=f"sqlite:///{os.path.join(tempfile.mkdtemp(), 'throughput.sqlite3')}",
    geoip_database=os.environ.get("CONSENTKIT_BENCH_GEOIP"),
    trusted_proxies=["127.0.0.1"],
)
