"""Hello-world apps for bench_throughput.py, served in a subprocess by each server.

``bare`` is Starlette alone; ``consent`` adds ConsentMiddleware as a real site runs it: a
SQLite store, the country database of ``CONSENTKIT_BENCH_GEOIP`` (see geo_data.py), and
the load generator's address trusted as a proxy, so that each request's
``X-Forwarded-For`` is looked up. ``vary_only`` is the floor beneath it: the smallest ASGI
middleware that does one of the things consentkit must do on every page response (add
``Vary: Cookie``, DESIGN section 8) and nothing else: a wrapper around ``send`` and one
more header for the server to write.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Awaitable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
    # bench_instructions.py lengthens it under callgrind, where a second holds a few dozen
    # requests instead of tens of thousands (see its docstring)
    flush_interval=float(os.environ.get("CONSENTKIT_BENCH_FLUSH_INTERVAL", "1")),
)


class VarySend:
    """``send`` with ``Vary: Cookie`` added to the response start (a plain call handing
    back send's own awaitable, as consentkit's is)."""

    __slots__ = ("send",)

    def __init__(self, send: Send) -> None:
        self.send = send

    def __call__(self, message: Message) -> Awaitable[None]:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), (b"vary", b"Cookie")]
        return self.send(message)


class VaryOnly:
    """The floor: a middleware that adds ``Vary: Cookie`` and does nothing else."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, VarySend(send))


vary_only = VaryOnly(Starlette(routes=[Route("/", hello)]))
