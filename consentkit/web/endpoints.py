"""The visitor's endpoints under the prefix (default ``/consentkit``): the banner's files and
state, recording a choice, the visitor's rights and the cookie policy.

These are small and not on the hot path, so they use Starlette's responses for clarity.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import Receive

from ..consent.categories import NECESSARY, CategorySet
from ..consent.consent import Consent
from ..consent.decisions import ACTIONS, Choice, DecisionRecorder
from ..disclosure import FORMATS, Disclosure
from ..errors import StoreError
from ..ledger.chain import config_fingerprint
from ..locales.pages import banner_only
from ..locales.texts import BannerTexts
from ..visit.classify import VisitorClassifier
from ..visit.request import ACCEPT_LANGUAGE, COOKIE, DNT, USER_AGENT, Visit
from .bad_request import NO_STORE, BadRequest
from .bodies import BodyLimits
from .origin import back_to, same_origin
from .pages import PrivacyPages, wants_html
from .rights import VisitorRights
from .routes import Routes
from .static_files import StaticFile, file_response

FORM = "application/x-www-form-urlencoded"


class ConsentEndpoints:
    """``state``, ``consent``, ``me``, ``me/export``, ``me/erase``, ``cookies`` and the
    banner's files; ``routes.respond(name, visit, receive)`` answers one of them."""

    def __init__(
        self,
        *,
        categories: CategorySet,
        texts: BannerTexts,
        recorder: DecisionRecorder,
        rights: VisitorRights,
        visitor: VisitorClassifier,
        banner_files: dict[str, StaticFile],
        position: str,
        max_body_size: int,
        disclosure: Disclosure,
        pages: PrivacyPages,
    ) -> None:
        self.disclosure = disclosure
        self.pages = pages
        self.categories = categories
        self.texts = texts
        self.recorder = recorder
        self.rights = rights
        self.visitor = visitor
        self.files = banner_files
        self.limits = BodyLimits(max_body_size)
        self.configs: dict[str, dict[str, Any]] = {}
        self.fingerprints: dict[str, tuple[str, str]] = {}
        policy_version = recorder.codec.policy_version
        for language, strings in texts.texts.items():
            config = {
                "categories": [
                    {
                        "name": c.name,
                        **dict(
                            zip(
                                ("title", "description"),
                                pages.texts.category(language, c.name, c.title, c.description),
                                strict=True,
                            )
                        ),
                        "required": c.name == NECESSARY,
                        "services": [
                            {"name": v.name, "title": v.title, "description": v.description}
                            for v in c.services
                        ],
                    }
                    for c in categories.all
                ],
                "texts": banner_only(strings),
                "position": position,
            }
            self.configs[language] = config
            self.fingerprints[language] = config_fingerprint(
                {"policy_version": policy_version, "language": language, **config}
            )
        self.routes = Routes(
            {
                "state": {"GET": self.state},
                "consent": {"POST": self.consent},
                "me": {"GET": rights.see},
                "me/export": {"GET": rights.export},
                "me/erase": {"POST": rights.erase_request},
                "cookies": {"GET": self.cookie_policy},
                **{name: {"GET": self.static} for name in banner_files},
                **{name: {"GET": self.static} for name in pages.files},
            }
        )

    async def state(self, visit: Visit, receive: Receive) -> Response:
        return JSONResponse(self.state_of(visit.consent, visit), headers=NO_STORE)

    async def static(self, visit: Visit, receive: Receive) -> Response:
        # A page's tag without the content hash is revalidated now and then, so a new
        # release reaches visitors within the hour.
        name = visit.scope["path"].rpartition("/")[2]
        file = self.files.get(name) or self.pages.files[name]
        return file_response(
            file, visit, unversioned="public, max-age=3600, stale-while-revalidate=86400"
        )

    async def cookie_policy(self, visit: Visit, receive: Receive) -> Response:
        # A browser's visit gets the page; ?format=html the fragment, for the site's own page.
        wanted = visit.query("format")
        if wanted == "page" or (wanted is None and wants_html(visit)):
            return self.pages.cookies(visit)
        if wanted in (None, "html"):
            return self.pages.fragment(visit)
        response = disclosure_response(self.disclosure, wanted or "html")
        response.headers["Vary"] = "Accept"
        return response

    def language(self, visit: Visit) -> str:
        language: str = self.texts.negotiate(visit.headers.get(ACCEPT_LANGUAGE))
        return language

    def state_of(self, consent: Consent, visit: Visit) -> dict[str, Any]:
        language = self.language(visit)
        return {
            "decided": consent.decided,
            "categories": sorted(consent.categories),
            "services": sorted(consent.services),
            "policy_version": self.recorder.codec.policy_version,
            "gpc": consent.gpc,
            "language": language,
            "dir": self.texts.direction(language),
            # Crawlers get no banner: nothing of theirs is counted and they cannot choose.
            "bot": self.visitor.agent(visit.header(USER_AGENT)).is_bot,
            "config": self.configs[language],
        }

    async def consent(self, visit: Visit, receive: Receive) -> Response:
        same_origin(visit)
        body = await self.limits.read(visit, receive)
        is_form = visit.media_type == FORM
        if is_form:
            form = self.limits.form(body)
            fields: dict[str, Any] = {
                "action": next((v for k, v in form if k == "action"), None),
                "categories": [v for k, v in form if k == "categories"],
                "services": [v for k, v in form if k == "services"],
                "next": next((v for k, v in form if k == "next"), None),
            }
        elif visit.media_type in ("application/json", ""):
            fields = self.limits.json_object(body)
        else:
            raise BadRequest(415, "send application/json or application/x-www-form-urlencoded")
        choice = self.choice(fields)
        language = self.language(visit)
        agent = self.visitor.agent(visit.header(USER_AGENT))
        try:
            outcome = await self.recorder.decide(
                choice,
                previous=visit.consent,
                visitor_id=visit.visitor_id,
                secure=visit.secure,
                language=language,
                config=self.fingerprints[language],
                country=self.visitor.country(visit),
                device=agent.device,
                browser=agent.browser,
                cookie_header=visit.header(COOKIE),
                dnt=visit.header(DNT).strip() == "1",
            )
        except StoreError:
            raise BadRequest(
                503, "the decision could not be recorded; nothing was changed, please retry"
            ) from None
        if is_form:
            response: Response = RedirectResponse(back_to(visit, fields.get("next")), 303)
        else:
            response = JSONResponse(self.state_of(outcome.consent, visit), headers=NO_STORE)
        response.raw_headers += [(b"set-cookie", v.encode("latin-1")) for v in outcome.set_cookies]
        return response

    def choice(self, fields: dict[str, Any]) -> Choice:
        action = fields.get("action")
        if action not in ACTIONS:
            raise BadRequest(400, f"action must be one of {', '.join(ACTIONS)}", "action")
        names = fields.get("categories", [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise BadRequest(400, "categories must be a list of category names", "categories")
        unknown = self.categories.unknown(names)
        if unknown:
            raise BadRequest(
                400, f"unknown categories: {', '.join(map(repr, unknown[:5]))}", "categories"
            )
        services = fields.get("services", [])
        if not isinstance(services, list) or not all(isinstance(n, str) for n in services):
            raise BadRequest(400, "services must be a list of service names", "services")
        unknown = [n for n in services if n not in self.categories.services]
        if unknown:
            raise BadRequest(
                400, f"unknown services: {', '.join(map(repr, unknown[:5]))}", "services"
            )
        return Choice(action, frozenset(names), frozenset(services))


def disclosure_response(disclosure: Disclosure, format: str = "html") -> Response:
    """The answer to ``GET /consentkit/cookies?format=html|md|json`` (no format: html).

    Public and identical for every visitor, so caches may keep it for five minutes.
    """
    if format not in FORMATS:
        return JSONResponse(
            {"error": f"format must be one of {', '.join(FORMATS)}", "field": "format"},
            status_code=400,
            headers={"Cache-Control": "no-store"},
        )
    media_type, render = FORMATS[format]
    return Response(
        render(disclosure),
        media_type=media_type,
        headers={
            "Cache-Control": "public, max-age=300",
            "X-Content-Type-Options": "nosniff",
        },
    )
