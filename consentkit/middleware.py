"""``ConsentMiddleware``: reads and records consent, enforces it, counts page views.

The request path, top to bottom: read the decision cookie (verification is cached), put the
``Consent`` on the scope, run the app, and on ``http.response.start`` add ``Vary: Cookie``,
drop cookies the visitor has not allowed, set or expire ``consentkit_id``, and count the
page view in memory. Nothing on this path touches the database.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import warnings
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .analytics.buffer import PageViewBuffer
from .analytics.sketch import visitor_hash
from .consent.categories import ANALYTICS
from .consent.consent import Consent
from .consent.cookies import (
    DECISION_COOKIE,
    ID_COOKIE,
    CookieHeaders,
    DecisionCodec,
    is_visitor_id,
    new_token,
    read_cookies,
)
from .consent.decisions import DecisionRecorder
from .consent.enforcement import CookieEnforcer
from .disclosure import Disclosure
from .errors import ConfigurationError, ConfigurationWarning
from .ledger.chain import SubjectHasher
from .ledger.spool import DecisionSpool
from .settings import ConsentSettings
from .store import Store, open_store
from .store.retention import PeriodicPurge
from .visit.classify import VisitorClassifier
from .visit.pages import ROUTE_KEY, page_of, template_of_rule
from .web.admin import AdminEndpoints
from .web.admin_auth import AdminAuth
from .web.endpoints import ConsentEndpoints
from .web.requests import COOKIE, SEC_GPC, USER_AGENT, HeaderReader
from .web.static_files import load_banner_files

logger = logging.getLogger("consentkit")

SKETCH_SALT = b"consentkit.visitors"
ADMIN_PATHS = ("api/", "dashboard")
SITE_KEY = "consentkit"  # scope key of the site's consentkit links, for template helpers

Headers = list[tuple[bytes, bytes]]


@dataclass(frozen=True, slots=True)
class SiteLinks:
    """What template helpers need to link to consentkit (found at ``scope["consentkit"]``)."""

    prefix: str
    banner_script: str  # the banner's URL, with its content hash: cached for a year


class ConsentMiddleware:
    """Cookie and tracking consent for an ASGI app. See DESIGN section 2 for the options."""

    def __init__(
        self, app: ASGIApp | None = None, /, *, settings: ConsentSettings | None = None,
        **options: Any,
    ) -> None:
        """Wrap ``app``; the options are those of ``ConsentSettings`` (or pass one)."""
        app = options.pop("app", app)  # Litestar passes it by name
        _refuse_inner_litestar_layer(app)
        app = app or _no_app
        self.settings = settings = settings or ConsentSettings.from_options(options)
        self.app = app
        self.page = settings.page
        self.prefix = prefix = settings.prefix
        self.vary_cookie = settings.vary_cookie
        self.count_refused = settings.count_refused
        self.clock = clock = settings.clock
        self.categories = settings.category_set
        if ANALYTICS not in self.categories.optional and not settings.count_refused:
            warnings.warn(
                "consentkit: no category is named 'analytics', so no page view will ever be "
                "counted; add Category('analytics', ...) or set count_refused=True",
                ConfigurationWarning, stacklevel=2,
            )
        keys = list(settings.keys)
        self.enforcer = CookieEnforcer(self.categories, undeclared=settings.undeclared_cookies)
        self.codec = DecisionCodec(
            keys, policy_version=settings.policy_version, max_age=settings.decision_max_age,
            categories=self.categories.optional, clock=clock,
        )
        self.cookies = CookieHeaders(
            decision_max_age=settings.decision_max_age, id_max_age=settings.id_max_age,
            domain=settings.cookie_domain,
        )
        self.headers = HeaderReader(settings.country_header)
        self.visitor = VisitorClassifier(
            geoip_database=settings.geoip_database, country_header=settings.country_header,
            trusted_proxies=settings.trusted_proxies,
        )
        store = settings.store
        self.store = store if isinstance(store, Store) else open_store(store, clock=clock)
        self.counter = PageViewBuffer(
            self.store, site=settings.site_id, interval=settings.flush_interval
        )
        sketch_key = hmac.new(keys[-1].encode(), SKETCH_SALT, hashlib.sha256).digest()[:32]
        # A returning visitor's keyed hash is looked up, not recomputed, on each page view.
        self.visitor_key = lru_cache(maxsize=8192)(partial(_visitor_key, sketch_key))
        self.spool = _spool(settings.decision_spool, store, self.store, settings.site_id)
        recorder = DecisionRecorder(
            site=settings.site_id, categories=self.categories, codec=self.codec,
            cookies=self.cookies, store=self.store, subjects=SubjectHasher(keys), clock=clock,
            honour_dnt=settings.honour_dnt, spool=self.spool,
        )
        banner_files = load_banner_files(settings.policy_version)
        self.links = SiteLinks(
            prefix, f"{prefix}/banner.js?v={banner_files['banner.js'].version}"
        )
        self.endpoints = ConsentEndpoints(
            prefix=prefix, categories=self.categories, texts=settings.banner_texts,
            recorder=recorder, visitor=self.visitor,
            banner_files=banner_files, position=settings.banner_position,
            max_body_size=settings.max_body_size, disclosure=Disclosure.of(settings),
        )
        self.endpoint_prefix = prefix + "/"
        auth = settings.admin_token and AdminAuth(
            settings.admin_token, secret_keys=keys, prefix=prefix, clock=clock
        )
        self.admin = AdminEndpoints(
            store=self.store, auth=auth or None, k_anonymity=settings.k_anonymity,
            time_zone=settings.time_zone, categories=self.categories.names(),
            cookie_report=self.enforcer.report,
        )
        self.purge = PeriodicPurge(self.store, settings.retention_days, clock=clock)
        _note_quart_routes(app)

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
        scope[SITE_KEY] = self.links
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
        raw: Headers = list(message.get("headers") or ())
        content_type = b""
        vary_at = -1  # the last Vary header, which gets ", Cookie"
        varies_on_cookie = sets_cookies = False
        # Header names in any case: Django sends "Content-Type" and "Set-Cookie".
        for index, (name, value) in enumerate(raw):
            name = name.lower()
            if name == b"content-type":
                content_type = value
            elif name == b"vary":
                vary_at = index
                lowered = value.lower()
                varies_on_cookie = varies_on_cookie or b"cookie" in lowered or b"*" in lowered
            elif name == b"set-cookie":
                sets_cookies = True
        changed = False
        is_html = content_type[:9].lower() == b"text/html"
        if is_html and self.vary_cookie and not varies_on_cookie:
            if vary_at >= 0:
                raw[vary_at] = (raw[vary_at][0], raw[vary_at][1] + b", Cookie")
            else:
                raw.append((b"vary", b"Cookie"))
            changed = True
        if sets_cookies and self.enforcer.active:
            kept = self.enforcer.enforce(raw, consent)
            if kept is not None:
                raw, changed = kept, True
        added: list[str] = []
        if stale_decision:
            added.append(self.cookies.expire(DECISION_COOKIE, secure=secure))
        try:
            self.count(message, scope, consent, headers, visitor_id, is_html, secure, added)
        except Exception:  # counting must never break the page it counts
            logger.exception("consentkit: a page view could not be counted")
        if added or changed:
            raw += [(b"set-cookie", value.encode("latin-1")) for value in added]
            message["headers"] = raw

    def count(
        self, message: Message, scope: Scope, consent: Consent, headers: dict[bytes, str],
        visitor_id: str | None, is_html: bool, secure: bool, added: list[str],
    ) -> None:
        """Count the page view, when it is one; ``added`` gets the cookies to set."""
        analytics = ANALYTICS in consent.categories
        if not analytics:
            if visitor_id is not None:
                added.append(self.cookies.expire(ID_COOKIE, secure=secure))
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
                added.append(self.cookies.visitor_id(visitor_id, secure=secure))
                visitor = self.visitor_key(visitor_id)
        country = self.visitor.country(scope, headers)
        page = page_of(scope, self.page)
        self.counter.count(hour, (country, agent.device, agent.browser, agent.os), page, visitor)

    async def lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Start and stop the background jobs around the app's own lifespan.

        An app that does not speak the lifespan protocol (Django raises, others return at
        once) still gets consentkit's start-up and its last flush at shutdown: consentkit
        then answers the server itself, as uvicorn would carry on without lifespan.
        """
        app_spoke = startup_seen = False

        async def receive_wrapper() -> Message:
            nonlocal startup_seen
            message = await receive()
            if message["type"] == "lifespan.startup":
                startup_seen = True
                self.startup()
            return message

        async def send_wrapper(message: Message) -> None:
            nonlocal app_spoke
            app_spoke = True
            if message["type"] in (
                "lifespan.shutdown.complete", "lifespan.shutdown.failed",
                "lifespan.startup.failed",  # the server stops: so do the jobs
            ):
                await self.shutdown()
            await send(message)

        try:
            await self.app(scope, receive_wrapper, send_wrapper)
        except Exception as error:
            if app_spoke:
                raise
            logger.info("consentkit: the application does not support lifespan (%s); "
                        "consentkit runs its own start-up and shutdown", error)
        if not app_spoke:
            await self.own_lifespan(receive, send, startup_seen)

    async def own_lifespan(self, receive: Receive, send: Send, startup_seen: bool) -> None:
        """The lifespan protocol, answered for an app that does not speak it."""
        while not startup_seen:
            message = await receive()
            startup_seen = message["type"] == "lifespan.startup"
        self.startup()
        await send({"type": "lifespan.startup.complete"})
        while (await receive())["type"] != "lifespan.shutdown":
            pass
        await self.shutdown()
        await send({"type": "lifespan.shutdown.complete"})

    def startup(self) -> None:
        """Start the flusher, the purge and the spool's drain (each a no-op once running)."""
        self.counter.start()
        self.purge.start()
        if self.spool is not None:
            self.spool.start()

    async def shutdown(self) -> None:
        """Stop the background jobs; the last flush and drain happen here."""
        await self.purge.stop()
        await self.counter.stop()
        if self.spool is not None:
            await self.spool.stop()


async def _no_app(scope: Scope, receive: Receive, send: Send) -> None:
    """What a middleware built without an app (to check settings, say) wraps."""
    raise ConfigurationError("this ConsentMiddleware was built without the ASGI app it wraps")


def _refuse_inner_litestar_layer(app: object) -> None:
    """Litestar's ``middleware=[DefineMiddleware(ConsentMiddleware, ...)]`` puts the
    middleware inside each route: it would never see ``/consentkit/*`` (404) nor the
    lifespan, and would open one store per route. Wrapping the app is the way."""
    module = type(app).__module__
    if module.startswith("litestar.") and module != "litestar.app":
        raise ConfigurationError(
            "ConsentMiddleware must wrap the whole Litestar app, not sit in its middleware "
            "list: app = ConsentMiddleware(Litestar(route_handlers=[...]), secret_key=...) "
            "(see docs/integrations/litestar.md)"
        )


def _note_quart_routes(app: object) -> None:
    """For ``app.asgi_app = ConsentMiddleware(app.asgi_app, ...)``: a Quart app tells the
    middleware each request's URL rule, so that pages are counted by route template."""
    quart_app: Any = getattr(app, "__self__", None)
    if not type(quart_app).__module__.startswith("quart") or not hasattr(
        quart_app, "before_request"
    ):
        return
    from quart import request

    def note_route() -> None:
        rule = request.url_rule
        if rule is not None:
            scope: dict[str, Any] = request.scope  # type: ignore[assignment]
            scope[ROUTE_KEY] = template_of_rule(rule.rule)

    quart_app.before_request(note_route)


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
