"""Hello-world apps for bench_throughput.py, served by uvicorn in a subprocess."""

from __future__ import annotations

import os
import tempfile

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from consentkit import ConsentMiddleware

SECRET = "throughput-secret-of-32-characters-or-more"


async def hello(request: Request) -> HTMLResponse:
    return HTMLResponse("<!doctype html><p>Hello, world</p>")


bare = Starlette(routes=[Route("/", hello)])
consent = Starlette(
    routes=[Route("/", hello)],
    middleware=[
        Middleware(
            ConsentMiddleware,
            secret_key=SECRET,
            store=f"sqlite:///{os.path.join(tempfile.mkdtemp(), 'throughput.sqlite3')}",
            trusted_proxies=["127.0.0.1"],  # wrk's flood sends X-Forwarded-For
        )
    ],
)
