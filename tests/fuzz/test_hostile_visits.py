"""Fuzzing as a test: generated hostile visits to every endpoint and a page, on both stores.

Bodies (JSON, forms, deep nesting, huge, binary, unicode, NUL), cookies (tampered,
oversized, many, not latin-1), headers (user agent, Sec-GPC, X-Forwarded-For,
Accept-Language, Origin, Referer, Content-Length) and admin queries. Whatever comes:

* no answer is a 5xx, and the site's page still answers 200 after every visit;
* nothing is logged as an error or with a traceback (consentkit's log, Starlette's, any);
* the consent ledger still verifies;
* no byte of the store (and of the decision spool) holds an address, a user agent or a
  cookie value that the fuzzer sent.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import pytest
from anyio.from_thread import start_blocking_portal
from asgi_lifespan import LifespanManager
from hypothesis import example, given, settings
from starlette.datastructures import URLPath
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send
from test_postgres_privacy import dump_schema

from consentkit import open_store

from .strategies import (
    ENDPOINTS,
    HOST,
    PREFIX,
    TOKEN,
    WELL_FORMED,
    CookieSpec,
    Request,
    Sent,
    Visit,
    visit,
)

BASE = f"http://{HOST}"


def fuzz_settings() -> settings:
    """The ``fuzz`` budget in the default run; the profile chosen with
    ``--hypothesis-profile`` (``long`` for releases) otherwise."""
    if settings.get_current_profile_name() == "default":
        return settings.get_profile("fuzz")
    return settings.default


@pytest.mark.every_store
def test_hostile_visits_never_break_the_site_nor_store_what_identifies(
    make_site, store_url, tmp_path, country_db, caplog
):
    app = make_site(
        admin_token=TOKEN,
        geoip_database=country_db,
        trusted_proxies=["127.0.0.0/8"],
        count_refused=True,
        undeclared_cookies="report",
        flush_interval=0.05,
    )
    app.router.routes.append(RawPaths())
    sent = Sent()
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(running(app)) as site,
    ):

        @fuzz_settings()
        @given(visit())
        @example(WELL_FORMED[0])
        @example(WELL_FORMED[1])
        def hostile(generated: Visit) -> None:
            portal.call(take_visit, site.app, generated, sent)

        hostile()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not errors, [f"{r.name}: {r.getMessage()}" for r in errors[:5]]
    store = open_store(store_url)
    report = store.verify_ledger()
    assert report.ok, report.problems
    views = store.query({"metrics": ["pageviews"], "date_range": "day"})["results"][0]
    store.close()
    assert report.records and views["metrics"][0]  # something was stored: the scan means it
    stored = stored_bytes(store_url, tmp_path)
    for label, variants in sent.needles().items():
        for needle in variants:
            assert needle not in stored, f"{label} found in the store"
    # The fuzzing got past the first checks of every endpoint: each answered yes at least once.
    answered = {(method, path) for method, path, status in sent.answers if status < 400}
    for method, name in ENDPOINTS:
        assert (method, f"{PREFIX}/{name}") in answered, f"{method} {name} never succeeded"
    print(f"fuzzed {store_url.split(':')[0]}: {sent.visits} visits, {sent.requests} requests")


class RawPaths(BaseRoute):
    """Pages under /raw/ with no route template, as a Django site or a catch-all has them:
    they are counted by their path."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        is_raw = scope["type"] == "http" and scope["path"].startswith("/raw/")
        return (Match.FULL if is_raw else Match.NONE), {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await HTMLResponse("<p>raw</p>")(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        raise NoMatchFound(name, path_params)


@asynccontextmanager
async def running(app: Any) -> AsyncIterator[LifespanManager]:
    """The site started and, at the end, shut down (the last flush and drain included)."""
    async with LifespanManager(app, shutdown_timeout=60) as manager:
        yield manager


async def take_visit(app: Any, generated: Visit, sent: Sent) -> None:
    sent.visits += 1
    sent.addresses.add(generated.address)
    sent.markers.add(generated.marker)
    transport = httpx.ASGITransport(app=app, client=(generated.address, 40_000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        genuine = await opening(client, generated.opening)
        sent.cookie_values.update(genuine.values())
        for request in generated.requests:
            sent.pages.add(unquote(request.path.split("?")[0], errors="surrogatepass"))
            response = await client.request(
                request.method,
                request.path,
                content=request.body,
                headers=request_headers(request, genuine, sent),
            )
            client.cookies.clear()  # each request says which cookies it sends
            sent.requests += 1
            sent.answered(request.method, request.path, response.status_code)
            assert response.status_code < 500, (request, response.text[:300])
            assert_same_site_rules(request, response)
            for value in response.headers.get_list("set-cookie"):
                cookie_value = value.split(";")[0].partition("=")[2]
                sent.cookie_values.update([cookie_value, *cookie_value.split("|")])
        page = await client.get("/", headers={"cookie": ""})
        assert page.status_code == 200, "the site's page no longer answers"


CHANGES = ("consent", "me/erase", "dashboard/login", "dashboard/logout", "event")


def assert_same_site_rules(request: Request, response: httpx.Response) -> None:
    """Another origin changes nothing, and no redirect of consentkit's leaves the site (the
    app's own, such as Starlette's trailing-slash redirects, are the app's business)."""
    location = response.headers.get("location")
    if location is not None and request.path.startswith(PREFIX + "/"):
        assert location.startswith("/") and not location.startswith("//"), location
        assert "\\" not in location, location
    origin = dict(request.headers).get(b"origin", b"").decode("latin-1")
    endpoint = request.path.split("?")[0].removeprefix(PREFIX + "/")
    # (an empty Origin is no browser's: it counts as none, like a missing one)
    if request.method == "POST" and endpoint in CHANGES and origin and not is_this_site(origin):
        assert response.status_code == 403, (origin, response.status_code)
        assert "set-cookie" not in response.headers


def is_this_site(origin: str) -> bool:
    """Whether an Origin header names http://testserver (port 80), as RFC 6454 compares."""
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return False
    return parts.scheme.lower() == "http" and parts.hostname == HOST and port in (None, 80)


async def opening(client: httpx.AsyncClient, action: str | None) -> dict[str, str]:
    """Genuine cookies to start with: a decision's, or the admin's after a login."""
    if action is None:
        return {}
    if action == "login":
        response = await client.post(
            f"{PREFIX}/dashboard/login", data={"token": TOKEN}, headers={"origin": BASE}
        )
    else:
        response = await client.post(
            f"{PREFIX}/consent", json={"action": action, "categories": ["analytics"]}
        )
    assert response.status_code < 400, response.text
    found = {
        value.split("=", 1)[0]: value.split(";")[0].split("=", 1)[1]
        for value in response.headers.get_list("set-cookie")
    }
    client.cookies.clear()
    return {name: value for name, value in found.items() if value}


def request_headers(
    request: Request, genuine: dict[str, str], sent: Sent
) -> list[tuple[bytes, bytes]]:
    found = list(request.headers)
    if request.content_type is not None:
        found.append((b"content-type", request.content_type.encode("latin-1", "replace")))
    if request.bearer is not None:
        found.append((b"authorization", f"Bearer {request.bearer}".encode("latin-1", "replace")))
    for name, value in found:
        if name == b"x-forwarded-for":
            for hop in value.decode("latin-1").split(","):
                with suppress(ValueError):
                    sent.addresses.add(str(ipaddress.ip_address(hop.strip())))
    header = cookie_header(request.cookie, genuine)
    if header is not None:
        found.append((b"cookie", header))
        text = header.decode("latin-1")
        sent.cookie_values.update(part.partition("=")[2] for part in text.split(";"))
    return found


def cookie_header(spec: CookieSpec, genuine: dict[str, str]) -> bytes | None:
    decision = genuine.get("consentkit", "2026-11|analytics|1790000000|" + "x" * 22 + ".sig")
    if spec.kind == "none":
        return None
    if spec.kind == "genuine":
        return "; ".join(f"{k}={v}" for k, v in genuine.items()).encode() or None
    if spec.kind == "tampered":
        position, character = spec.detail
        position %= len(decision)
        changed = decision[:position] + character + decision[position + 1 :]
        return f"consentkit={changed}".encode()
    if spec.kind == "oversized":
        return b"consentkit=" + b"A" * spec.detail
    if spec.kind == "many":
        return "; ".join(f"c{n}=v{n}" for n in range(spec.detail)).encode()
    if spec.kind == "admin":
        admin = genuine.get("consentkit_admin", "admin.AAAA.BBBB")
        return f"consentkit_admin={admin[::-1] if spec.detail else admin}".encode()
    raw: bytes = spec.detail
    return raw


def stored_bytes(store_url: str, tmp_path: Path) -> bytes:
    """Every byte the store keeps: the SQLite file with its log, or every PostgreSQL row;
    and the decision spool beside it."""
    files = [
        p for p in tmp_path.iterdir() if p.name.startswith(("consentkit.sqlite3", "spool.sqlite3"))
    ]
    local = b"".join(p.read_bytes() for p in files)
    if store_url.startswith("sqlite:"):
        return local
    return dump_schema(store_url) + local
