"""The ASGI lifespan around the app's own: consentkit's background jobs start and stop here.

An app that does not speak the lifespan protocol (Django raises, others return at once)
still gets consentkit's start-up and its last flush at shutdown: consentkit then answers
the server itself, as uvicorn would carry on without lifespan.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("consentkit")

_STOPPED = (
    "lifespan.shutdown.complete",
    "lifespan.shutdown.failed",
    "lifespan.startup.failed",
)  # the server stops: so do the jobs


async def run_lifespan(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    startup: Callable[[], None],
    shutdown: Callable[[], Awaitable[None]],
) -> None:
    """Run ``app``'s lifespan, calling ``startup`` as the server starts and ``shutdown``
    once the app has stopped (or answering the protocol alone when the app does not)."""
    app_spoke = startup_seen = False

    async def receive_wrapper() -> Message:
        nonlocal startup_seen
        message = await receive()
        if message["type"] == "lifespan.startup":
            startup_seen = True
            startup()
        return message

    async def send_wrapper(message: Message) -> None:
        nonlocal app_spoke
        app_spoke = True
        if message["type"] in _STOPPED:
            await shutdown()
        await send(message)

    try:
        await app(scope, receive_wrapper, send_wrapper)
    except Exception as error:
        if app_spoke:
            raise
        logger.info(
            "consentkit: the application does not support lifespan (%s); "
            "consentkit runs its own start-up and shutdown",
            error,
        )
    if app_spoke:
        return
    while not startup_seen:
        startup_seen = (await receive())["type"] == "lifespan.startup"
        if startup_seen:
            startup()
    await send({"type": "lifespan.startup.complete"})
    while (await receive())["type"] != "lifespan.shutdown":
        pass
    await shutdown()
    await send({"type": "lifespan.shutdown.complete"})
