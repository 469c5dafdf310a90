"""The site that test_postgres_workers.py serves from several uvicorn processes at once.

Every process stores into the database named by ``CONSENTKIT_TEST_STORE`` and flushes every
``CONSENTKIT_TEST_FLUSH_INTERVAL`` seconds; each page says which process served it, so the
test can tell that all of them took part.
"""

from __future__ import annotations

import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from consentkit import ConsentMiddleware


async def page(request: Request) -> Response:
    return HTMLResponse(f"<!doctype html><p>served by {os.getpid()}</p>")


async def ready(request: Request) -> Response:
    return PlainTextResponse("ready")


app = Starlette(routes=[Route("/", page), Route("/items/{item_id}", page), Route("/ready", ready)])
app.add_middleware(
    ConsentMiddleware,
    secret_key="workers-test-secret-of-32-characters-or-more",
    store=os.environ["CONSENTKIT_TEST_STORE"],
    decision_spool=os.environ["CONSENTKIT_TEST_SPOOL"],
    flush_interval=float(os.environ["CONSENTKIT_TEST_FLUSH_INTERVAL"]),
)
