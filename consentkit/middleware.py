"""``ConsentMiddleware``: reads and records consent, enforces it, counts page views.

The request path, top to bottom: read the decision cookie (verification is cached), put the
``Consent`` on the scope, run the app, and on ``http.response.start`` add ``Vary: Cookie``,
drop cookies the visitor has not allowed, set or expire ``consentkit_id``, and count the
page view in memory. Nothing on this path touches the database.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache, partial
from typing import Literal

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .admin_auth import AdminAuth
from .api import AdminEndpoints
from .banner_files import load_banner_files
from .buffer import PageViewBuffer
from .categories import ANALYTICS, DEFAULT_CATEGORIES, Category, CategorySet
from .consent import Consent
from .cookies import (
    DECISION_COOKIE,
    ID_COOKIE,
    POLICY_VERSION,
    CookieHeaders,
    DecisionCodec,
    is_visitor_id,
    new_token,
    read_cookies,
    secret_keys,
)
from .decisions import DecisionRecorder
from .derive import MAX_PAGE, VisitorClassifier
from .disclosure import Disclosure
from .endpoints import ConsentEndpoints
from .enforcement import CookieEnforcer, Undeclared
from .errors import ConfigurationError
from .incoming import COOKIE, SEC_GPC, USER_AGENT, HeaderReader
from .ledger import SubjectHasher
from .retention import PeriodicPurge, check_retention
from .sketch import visitor_hash
from .spool import DecisionSpool
from .store import Store, open_store
from .store.base import site_zone
from .texts import BannerTexts

DAY = 24 * 3600
MAX_ID_AGE = 396 * DAY  # 13 months
SKETCH_SALT = b"consentkit.visitors"
ADMIN_PATHS = ("api/", "dashboard")


class ConsentMiddleware:
    """Cookie and tracking consent for an ASGI app. See DESIGN section 2 for the options."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        secret_key: str | Sequence[str],
        store: str | Store = "sqlite:///consentkit.sqlite3",
        categories: Sequence[Category | str] = DEFAULT_CATEGORIES,
        policy_version: str = "1",
        geoip_database: str | os.PathLike[str] | None = None,
        country_header: str | None = None,
        trusted_proxies: Sequence[str] = (),
        admin_token: str | None = None,
        k_anonymity: int | None = None,
        time_zone: str = "UTC",
        retention: Mapping[str, int] | None = None,
        prefix: str = "/consentkit",
        site_id: str = "default",
        decision_max_age: int = 182 * DAY,
        id_max_age: int = MAX_ID_AGE,
        cookie_domain: str | None = None,
        vary_cookie: bool = True,
        count_refused: bool = False,
        honour_dnt: bool = False,
        undeclared_cookies: Undeclared = "allow",
        decision_spool: str | None = "auto",
        languages: list[str] | None = None,
        default_language: str = "en",
        texts: Mapping[str, Mapping[str, str]] | None = None,
        banner_position: Literal["bar", "box"] = "bar",
        max_body_size: int = 4096,
        flush_interval: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        keys = secret_keys(secret_key)
        if not isinstance(policy_version, str) or not POLICY_VERSION.fullmatch(policy_version):
            raise ConfigurationError(
                "policy_version must be 1-64 letters, digits, '.', '_' or '-', e.g. '2026-11'"
            )
        if not 0 < id_max_age <= MAX_ID_AGE:
            raise ConfigurationError("id_max_age must be positive and at most 13 months")
        if decision_max_age <= 0:
            raise ConfigurationError("decision_max_age must be a positive number of seconds")
        if not prefix.startswith("/") or prefix.endswith("/"):
            raise ConfigurationError("prefix must start with '/' and not end with it")
        if banner_position not in ("bar", "box"):
            raise ConfigurationError("banner_position must be 'bar' or 'box'")
        self.app = app
        self.prefix = prefix
        self.vary_cookie = vary_cookie
        self.count_refused = count_refused
        self.clock = clock
        self.categories = CategorySet.build(categories)
        self.enforcer = CookieEnforcer(self.categories, undeclared=undeclared_cookies)
        self.codec = DecisionCodec(
            keys, policy_version=policy_version, max_age=decision_max_age,
            categories=self.categories.optional, clock=clock,
        )
        self.cookies = CookieHeaders(
            decision_max_age=decision_max_age, id_max_age=id_max_age, domain=cookie_domain
        )
        self.headers = HeaderReader(country_header)
        self.visitor = VisitorClassifier(
            geoip_database=geoip_database, country_header=country_header,
            trusted_proxies=trusted_proxies,
        )
        self.store = store if isinstance(store, Store) else open_store(store, clock=clock)
        self.counter = PageViewBuffer(self.store, site=site_id, interval=flush_interval)
        sketch_key = hmac.new(keys[-1].encode(), SKETCH_SALT, hashlib.sha256).digest()[:32]
        # A returning visitor's keyed hash is looked up, not recomputed, on each page view.
        self.visitor_key = lru_cache(maxsize=8192)(partial(_visitor_key, sketch_key))
        self.spool = _spool(decision_spool, store, self.store, site_id)
        recorder = DecisionRecorder(
            site=site_id, categories=self.categories, codec=self.codec, cookies=self.cookies,
            store=self.store, subjects=SubjectHasher(keys), clock=clock,
            honour_dnt=honour_dnt, spool=self.spool,
        )
        self.endpoints = ConsentEndpoints(
            prefix=prefix, categories=self.categories,
            texts=BannerTexts(languages=languages, default_language=default_language,
                              overrides=texts),
            recorder=recorder, visitor=self.visitor,
            banner_files=load_banner_files(policy_version), position=banner_position,
            max_body_size=max_body_size, disclosure=Disclosure.of(self),
        )
        self.endpoint_prefix = prefix + "/"
        if admin_token is not None and (not isinstance(admin_token, str) or len(admin_token) < 16):
            raise ConfigurationError("admin_token must be a string of at least 16 characters")
        if k_anonymity is not None and (type(k_anonymity) is not int or k_anonymity < 1):
            raise ConfigurationError("k_anonymity must be a positive integer")
        auth = admin_token and AdminAuth(admin_token, secret_keys=keys, prefix=prefix,
                                         clock=clock)
        site_zone(time_zone)  # a bad zone name fails here, at start-up
        self.admin = AdminEndpoints(
            store=self.store, auth=auth or None, k_anonymity=k_anonymity, time_zone=time_zone,
            cookie_report=self.enforcer.report,
        )
        self.purge = PeriodicPurge(self.store, check_retention(retention), clock=clock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(scope, receive, send)
            return
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        self.counter.start()  # no-op once running; covers servers that skip lifespan
        is_endpoint = scope["path"].startswith(self.endpoint_prefix)
        wanted = self.headers.endpoint_headers if is_endpoint else self.headers.page_headers
        headers = self.headers.read(scope, wanted)
        decision_value, visitor_id = read_cookies(headers.get(COOKIE, ""))
        gpc = headers.get(SEC_GPC, "").strip() == "1"
        consent = self.codec.decode(decision_value, gpc=gpc)
        scope.setdefault("state", {})["consent"] = consent
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        if is_endpoint:
            name = scope["path"][len(self.endpoint_prefix) :]
            if name.startswith(ADMIN_PATHS):
                await self.admin(name, scope, receive, send, headers)
                return
            valid_id = visitor_id if is_visitor_id(visitor_id) else None
            await self.endpoints(scope, receive, send, consent, headers, valid_id)
            return
        # A forged or broken decision cookie is removed; a genuine one that is outdated or
        # expired stays: its decision ID keeps naming the visitor in the ledger.
        stale_decision = decision_value is not None and consent.decision_id is None
        secure = scope.get("scheme") == "https"

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.on_response(
                    message, scope, consent, headers, visitor_id, stale_decision, secure
                )
            await send(message)

        await self.app(scope, receive, send_wrapper)

    def on_response(
        self, message: Message, scope: Scope, consent: Consent, headers: dict[bytes, str],
        visitor_id: str | None, stale_decision: bool, secure: bool,
    ) -> None:
        content_type = vary = b""
        sets_cookies = False
        for name, value in message.get("headers", ()):
            if name == b"content-type":
                content_type = value
            elif name == b"vary":
                vary = value
            elif name == b"set-cookie":
                sets_cookies = True
        response = MutableHeaders(scope=message)
        is_html = content_type.startswith(b"text/html")
        if is_html and self.vary_cookie and b"cookie" not in vary.lower():
            if vary:
                response["Vary"] = vary.decode("latin-1") + ", Cookie"
            else:
                response.append("Vary", "Cookie")
        if sets_cookies and self.enforcer.active:
            self.enforcer.enforce(response, consent)
        if stale_decision:
            response.append("Set-Cookie", self.cookies.expire(DECISION_COOKIE, secure=secure))
        analytics = ANALYTICS in consent.categories
        if not analytics:
            if visitor_id is not None:
                response.append("Set-Cookie", self.cookies.expire(ID_COOKIE, secure=secure))
            if not self.count_refused:
                return
        if not (is_html and scope["method"] == "GET" and 200 <= message["status"] < 300):
            return
        agent = self.visitor.agent(headers.get(USER_AGENT, ""))
        hour = int(self.clock() // 3600)
        if agent.is_bot:
            self.counter.count_bot(hour)
            return
        visitor = None
        if analytics:
            visitor = self.visitor_key(visitor_id) if visitor_id else None
            if visitor is None:  # no ID yet, or not one of ours: give a fresh one
                visitor_id = new_token()
                response.append("Set-Cookie", self.cookies.visitor_id(visitor_id, secure=secure))
                visitor = self.visitor_key(visitor_id)
        country = self.visitor.country(scope, headers)
        page = page_of(scope)[:MAX_PAGE]
        self.counter.count(hour, (country, agent.device, agent.browser, agent.os), page, visitor)

    async def lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def receive_wrapper() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.counter.start()
                self.purge.start()
                if self.spool is not None:
                    self.spool.start()
            return message

        async def send_wrapper(message: Message) -> None:
            if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                await self.purge.stop()
                await self.counter.stop()
                if self.spool is not None:
                    await self.spool.stop()
            await send(message)

        await self.app(scope, receive_wrapper, send_wrapper)


def _spool(
    option: str | None, url: str | Store, store: Store, site: str
) -> DecisionSpool | None:
    """The decision spool: "auto" keeps one beside the app for stores across a network."""
    if option == "auto":
        local = not isinstance(url, str) or url.startswith("sqlite:")
        option = None if local else f"consentkit-spool-{site}.sqlite3"
    return DecisionSpool(option, store) if option else None


def _visitor_key(key: bytes, visitor_id: str) -> int | None:
    """The keyed hash that the unique-visitor sketch counts; None for a malformed ID."""
    return visitor_hash(key, visitor_id) if is_visitor_id(visitor_id) else None


def page_of(scope: Scope) -> str:
    """The route template when the framework names one, else the path (no query string)."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if isinstance(template, str):
        root = scope.get("root_path", "")
        mount = root[len(scope.get("app_root_path", root)) :]
        return mount + template if template else mount or "/"
    path: str = scope["path"]
    return path

