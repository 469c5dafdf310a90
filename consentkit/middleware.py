"""``ConsentMiddleware``: reads and records consent, enforces it, counts page views.

The request path, top to bottom: read the request once (its cookies and the consent they
carry, verification cached) into a ``Visit``, put the ``Consent`` on the scope, run the app,
and on ``http.response.start`` add ``Vary: Cookie``, drop cookies the visitor has not
allowed, set or expire ``consentkit_id``, and count the page view in memory. Nothing on
this path touches the database. Requests under the prefix go to the endpoints instead.
"""

from __future__ import annotations

import logging
import warnings
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Receive, Scope, Send

from .analytics.buffer import PageViewBuffer
from .analytics.hll import visitor_hash
from .compiled import entry_class
from .consent.categories import ANALYTICS
from .consent.cookies import (
    CookieHeaders,
    DecisionCodec,
    is_visitor_id,
)
from .consent.decisions import DecisionRecorder
from .consent.enforcement import CookieEnforcer
from .consent.keys import SiteKeys
from .consent.withdrawal import CookieExpiry
from .disclosure import Disclosure
from .errors import ConfigurationError, ConfigurationWarning
from .frameworks import SITE_KEY, SiteLinks, note_quart_routes, refuse_inner_litestar_layer
from .ledger.chain import SubjectHasher
from .ledger.spool import DecisionSpool
from .lifespan import run_lifespan
from .response_hook import ResponseHook
from .returning import ReturningPath
from .settings import ConsentSettings
from .store import Store, open_store
from .store.retention import PeriodicPurge
from .visit.classify import VisitorClassifier
from .visit.pages import page_of
from .visit.request import VisitReader
from .visit.sources import SourceReader
from .visit.templates import RouteTemplates
from .web.admin import AdminEndpoints
from .web.admin_auth import AdminAuth
from .web.bodies import BodyLimits
from .web.endpoints import ConsentEndpoints
from .web.events import EventCounter
from .web.pages import PrivacyPages
from .web.rights import VisitorRights
from .web.static_files import banner_site, load_banner_files

logger = logging.getLogger("consentkit")

ADMIN_PATHS = ("api/", "dashboard")

if TYPE_CHECKING:
    from .returning import Entry
else:  # the returning visitor's lane where the request path is compiled (fastlane.pyx)
    Entry = entry_class()


class ConsentMiddleware(Entry):
    """Cookie and tracking consent for an ASGI app: the options are ``ConsentSettings``'s
    (docs/configuration.md), given as keywords or as ``settings=ConsentSettings(...)``."""

    def __init__(
        self,
        app: ASGIApp | None = None,
        /,
        *,
        settings: ConsentSettings | None = None,
        **options: Any,
    ) -> None:
        app = options.pop("app", app)  # Litestar passes it by name
        refuse_inner_litestar_layer(app)
        self.app = app or _no_app
        self.settings = settings = settings or ConsentSettings.from_options(options)
        self.clock = clock = settings.clock
        self.categories = settings.category_set
        if ANALYTICS not in self.categories.optional and not settings.count_refused:
            warnings.warn(
                "consentkit: no category is named 'analytics', so no page view will ever be "
                "counted; add Category('analytics', ...) or set count_refused=True",
                ConfigurationWarning,
                stacklevel=2,
            )
        keys = SiteKeys(settings.keys, clock)
        self.codec = DecisionCodec(
            keys.decision_signer(),
            policy_version=settings.policy_version,
            max_age=settings.decision_max_age,
            categories=self.categories.optional,
            clock=clock,
            services=self.categories.services,
        )
        self.reader = reader = VisitReader(self.codec, settings.country_header)
        # Where a counted page view came in from (None: sources=False, nothing read).
        self.sources = SourceReader() if settings.sources else None
        self.enforcer = CookieEnforcer(self.categories, undeclared=settings.undeclared_cookies)
        self.expiry = CookieExpiry(self.categories)
        self.cookies = CookieHeaders(
            decision_max_age=settings.decision_max_age,
            id_max_age=settings.id_max_age,
            domain=settings.cookie_domain,
        )
        self.visitor = VisitorClassifier(
            geoip_database=settings.geoip_database,
            country_header=settings.country_header,
            trusted_proxies=settings.trusted_proxies,
        )
        store = settings.store
        self.store = store if isinstance(store, Store) else open_store(store, clock=clock)
        self.counter = PageViewBuffer(
            self.store,
            site=settings.site_id,
            interval=settings.flush_interval,
            agents=self.visitor.agent,
        )
        # A returning visitor's keyed hash is looked up, not recomputed, on each page view.
        self.visitor_key = lru_cache(maxsize=8192)(partial(_visitor_key, keys.visitor_key()))
        self.spool = _spool(settings.decision_spool, store, self.store, settings.site_id)
        recorder = DecisionRecorder(
            site=settings.site_id,
            categories=self.categories,
            codec=self.codec,
            cookies=self.cookies,
            ledger=self.spool or self.store,
            subjects=SubjectHasher(keys.ledger_keys()),
            clock=clock,
            honour_dnt=settings.honour_dnt,
        )
        banner_files = load_banner_files(settings.policy_version, banner_site(settings))
        self.prefix = settings.prefix + "/"
        self.started = False  # the background jobs
        self.links = SiteLinks(
            settings.prefix,
            f"{settings.prefix}/banner.js?v={banner_files['banner.js'].version}",
            self.track,
        )
        disclosure = Disclosure.of(settings)
        pages = PrivacyPages(settings, disclosure, banner_files["banner.js"])
        limits = BodyLimits(settings.max_body_size)
        self.endpoints = ConsentEndpoints(
            categories=self.categories,
            texts=settings.banner_texts,
            recorder=recorder,
            rights=VisitorRights(recorder, self.store, self.spool, pages, limits),
            visitor=self.visitor,
            banner_files=banner_files,
            position=settings.banner_position,
            max_body_size=settings.max_body_size,
            disclosure=disclosure,
            pages=pages,
        )
        self.events = EventCounter(
            buffer=self.counter,
            classifier=self.visitor,
            visitor_key=self.visitor_key,
            clock=clock,
            page=lambda visit: page_of(visit.scope, settings.page),
            template=None if settings.page else RouteTemplates(app).template,
        )
        self.endpoints.routes.add("event", {"POST": self.events.receive})
        auth = settings.admin_token and AdminAuth(
            settings.admin_token, signer=keys.admin_signer(), prefix=settings.prefix
        )
        self.admin = AdminEndpoints(
            store=self.store,
            auth=auth or None,
            prefix=settings.prefix,
            k_anonymity=settings.k_anonymity,
            time_zone=settings.time_zone,
            categories=[*self.categories.names(), *self.categories.services],
            cookie_report=self.enforcer.report,
        )
        self.purge = PeriodicPurge(self.store, settings.retention_days, clock=clock)
        self.hook = ResponseHook(
            vary_cookie=settings.vary_cookie,
            count_refused=settings.count_refused,
            enforcer=self.enforcer,
            expiry=self.expiry,
            cookies=self.cookies,
            classifier=self.visitor,
            counter=self.counter,
            visitor_key=self.visitor_key,
            sources=self.sources,
            page=settings.page,
            clock=clock,
        )
        self.returning = ReturningPath(
            app=self.app,
            reader=reader,
            links=self.links,
            tally=self.counter.tally,
            clock=clock,
            sources=self.sources,
            page=settings.page,
            vary_cookie=settings.vary_cookie,
            enforcing=self.enforcer.active,
            hook=self.hook.on_response,
            prefix=self.prefix,
            endpoints=self.asgi,
        )
        self.page = self.returning.page  # bound once: most requests go there
        note_quart_routes(app)
        # Servers and adapters (uvicorn, hypercorn, asgiref, Litestar) tell an ASGI 3 app
        # by its ``__call__`` attribute being a coroutine function: this instance's is
        # ``asgi``. Calling the instance goes through the class's ``__call__`` (``Entry``'s,
        # compiled with the request path), which hands a page request's awaitable to the
        # server as it is (no coroutine of its own to create and step through on every
        # request) and the rest to ``asgi``.
        vars(self)["__call__"] = self.asgi

    async def asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The middleware as an ASGI 3 coroutine: every kind of request (``Entry``'s
        ``__call__`` takes a shorter way with most page requests)."""
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            if kind == "lifespan":
                await run_lifespan(
                    self.app, scope, receive, send, startup=self.startup, shutdown=self.shutdown
                )
            else:
                await self.app(scope, receive, send)
            return
        if not self.started:  # servers that skip lifespan: start on the first request
            self.startup()
        if not scope["path"].startswith(self.prefix):
            if kind == "http":
                await self.page(scope, receive, send)
            else:  # a websocket: it learns the consent, nothing else to do
                scope.setdefault("state", {})["consent"] = self.reader.known_of(scope).consent
                scope[SITE_KEY] = self.links
                await self.app(scope, receive, send)
            return
        visit = self.reader.read(scope, endpoint=True)
        scope.setdefault("state", {})["consent"] = visit.consent
        scope[SITE_KEY] = self.links
        if kind == "websocket":
            await self.app(scope, receive, send)
            return
        name = scope["path"][len(self.prefix) :]
        endpoints = self.admin if name.startswith(ADMIN_PATHS) else self.endpoints
        response = await endpoints.routes.respond(name, visit, receive)
        await response(scope, receive, send)

    def track(self, scope: Scope, name: str) -> bool:
        """``consentkit.track(request, name)`` for a request of this middleware's app."""
        return self.events.track(self.reader.read(scope, endpoint=True), name)

    def startup(self) -> None:
        """Start the flusher, the purge and the spool's drain (each a no-op once running)."""
        self.started = True
        self.counter.start()
        self.purge.start()
        if self.spool is not None:
            self.spool.start()

    async def shutdown(self) -> None:
        """Stop the background jobs; the last flush and drain happen here."""
        self.started = False
        await self.purge.stop()
        await self.counter.stop()
        if self.spool is not None:
            await self.spool.stop()


async def _no_app(scope: Scope, receive: Receive, send: Send) -> None:
    """What a middleware built without an app (to check settings, say) wraps."""
    raise ConfigurationError("this ConsentMiddleware was built without the ASGI app it wraps")


def _spool(option: str | None, url: str | Store, store: Store, site: str) -> DecisionSpool | None:
    """The decision spool: "auto" keeps one beside the app for stores across a network."""
    if option == "auto":
        local = not isinstance(url, str) or url.startswith("sqlite:")
        option = None if local else f"consentkit-spool-{site}.sqlite3"
    return DecisionSpool(option, store) if option else None


def _visitor_key(key: bytes, visitor_id: str) -> int | None:
    """The keyed hash that the unique-visitor sketch counts; None for a malformed ID."""
    return visitor_hash(key, visitor_id) if is_visitor_id(visitor_id) else None
