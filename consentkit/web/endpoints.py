"""The HTTP endpoints under the prefix (default ``/consentkit``): state, consent, banner files.

These are small and not on the hot path, so they use Starlette's responses for clarity.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from ..consent.categories import NECESSARY, CategorySet
from ..consent.consent import Consent
from ..consent.decisions import ACTIONS, Choice, DecisionRecorder
from ..disclosure import FORMATS, Disclosure
from ..errors import StoreError
from ..ledger.chain import config_fingerprint
from ..locales.texts import BannerTexts
from ..visit.classify import VisitorClassifier
from .bad_request import NO_STORE, BadRequest
from .bodies import BodyLimits
from .origin import back_to, same_origin
from .requests import (
    ACCEPT_LANGUAGE,
    CONTENT_TYPE,
    COOKIE,
    DNT,
    IF_NONE_MATCH,
    USER_AGENT,
    query_value,
)
from .rights import VisitorRights
from .static_files import StaticFile


class ConsentEndpoints:
    def __init__(
        self,
        *,
        prefix: str,
        categories: CategorySet,
        texts: BannerTexts,
        recorder: DecisionRecorder,
        visitor: VisitorClassifier,
        banner_files: dict[str, StaticFile],
        position: str,
        max_body_size: int,
        disclosure: Disclosure,
    ) -> None:
        self.prefix = prefix
        self.disclosure = disclosure
        self.categories = categories
        self.texts = texts
        self.recorder = recorder
        self.rights = VisitorRights(recorder)
        self.visitor = visitor
        self.files = banner_files
        self.limits = BodyLimits(max_body_size)
        self.configs: dict[str, dict[str, Any]] = {}
        self.fingerprints: dict[str, tuple[str, str]] = {}
        policy_version = recorder.codec.policy_version
        for language, strings in texts.texts.items():
            config = {
                "categories": [
                    {"name": c.name, "title": c.title, "description": c.description,
                     "required": c.name == NECESSARY}
                    for c in categories.all
                ],
                "texts": strings,
                "position": position,
            }
            self.configs[language] = config
            self.fingerprints[language] = config_fingerprint(
                {"policy_version": policy_version, "language": language, **config}
            )

    async def __call__(
        self, scope: Scope, receive: Receive, send: Send, consent: Consent,
        headers: dict[bytes, str], visitor_id: str | None,
    ) -> None:
        name = scope["path"][len(self.prefix):].lstrip("/")
        method = scope["method"]
        allowed = {"state": "GET", "consent": "POST", "me": "GET", "me/export": "GET",
                   "me/erase": "POST", "cookies": "GET", **{f: "GET" for f in self.files}}
        if name not in allowed:
            response: Response = JSONResponse({"error": "not found"}, 404, headers=NO_STORE)
        elif method != allowed[name] and not (method == "HEAD" and allowed[name] == "GET"):
            response = JSONResponse(
                {"error": f"use {allowed[name]}"}, 405, headers={"Allow": allowed[name]}
            )
        elif name in self.files:
            response = self.static(self.files[name], scope, headers)
        elif name == "state":
            response = JSONResponse(self.state(consent, headers), headers=NO_STORE)
        elif name == "cookies":
            wanted = query_value(scope, "format") or "html"
            response = disclosure_response(self.disclosure, wanted)
        elif name.startswith("me"):
            response = await self.rights_response(name, scope, receive, headers)
        else:
            try:
                response = await self.consent(scope, receive, consent, headers, visitor_id)
            except BadRequest as error:
                response = error.response()
        await response(scope, receive, send)

    async def rights_response(
        self, name: str, scope: Scope, receive: Receive, headers: dict[bytes, str]
    ) -> Response:
        try:
            if name == "me":
                return await self.rights.see(headers)
            if name == "me/export":
                return await self.rights.export(scope, headers)
            same_origin(scope, headers)  # erasing is a change: never from another site
            self.erase_body(await self.limits.read(receive, headers), headers)
            return await self.rights.erase(scope, headers)
        except BadRequest as error:
            return error.response()

    def erase_body(self, body: bytes, headers: dict[bytes, str]) -> None:
        """An erasure needs no body; one that is sent must be well-formed."""
        content_type = media_type(headers)
        if not body.strip():
            return
        if content_type == "application/x-www-form-urlencoded":
            self.limits.form(body)
        elif content_type in ("application/json", ""):
            self.limits.json_object(body)
        else:
            raise BadRequest(415, "send no body, application/json or a form")

    def static(self, file: StaticFile, scope: Scope, headers: dict[bytes, str]) -> Response:
        versioned = f"v={file.version}".encode() == scope.get("query_string", b"")
        cache = (
            "public, max-age=31536000, immutable" if versioned
            else "public, max-age=3600, stale-while-revalidate=86400"
        )
        extra = {"ETag": file.etag, "Cache-Control": cache}
        if headers.get(IF_NONE_MATCH) == file.etag:
            return Response(status_code=304, headers=extra)
        return Response(file.body, media_type=file.media_type, headers=extra)

    def language(self, headers: dict[bytes, str]) -> str:
        language: str = self.texts.negotiate(headers.get(ACCEPT_LANGUAGE))
        return language

    def state(self, consent: Consent, headers: dict[bytes, str]) -> dict[str, Any]:
        language = self.language(headers)
        return {
            "decided": consent.decided,
            "categories": sorted(consent.categories),
            "policy_version": self.recorder.codec.policy_version,
            "gpc": consent.gpc,
            "language": language,
            "dir": self.texts.direction(language),
            # Crawlers get no banner: nothing of theirs is counted and they cannot choose.
            "bot": self.visitor.agent(headers.get(USER_AGENT, "")).is_bot,
            "config": self.configs[language],
        }

    async def consent(
        self, scope: Scope, receive: Receive, previous: Consent,
        headers: dict[bytes, str], visitor_id: str | None,
    ) -> Response:
        same_origin(scope, headers)
        body = await self.limits.read(receive, headers)
        content_type = media_type(headers)
        is_form = content_type == "application/x-www-form-urlencoded"
        if is_form:
            form = self.limits.form(body)
            fields: dict[str, Any] = {
                "action": next((v for k, v in form if k == "action"), None),
                "categories": [v for k, v in form if k == "categories"],
                "next": next((v for k, v in form if k == "next"), None),
            }
        elif content_type in ("application/json", ""):
            fields = self.limits.json_object(body)
        else:
            raise BadRequest(415, "send application/json or application/x-www-form-urlencoded")
        choice = self.choice(fields)
        language = self.language(headers)
        agent = self.visitor.agent_of(headers)
        country = self.visitor.country(scope, headers)
        try:
            outcome = await self.recorder.decide(
                choice, previous=previous, visitor_id=visitor_id,
                secure=scope.get("scheme") == "https", language=language,
                config=self.fingerprints[language], country=country, agent=agent,
                cookie_header=headers.get(COOKIE, ""), dnt=headers.get(DNT, "").strip() == "1",
            )
        except StoreError:
            raise BadRequest(503, "the decision could not be recorded; nothing was changed, "
                                  "please retry") from None
        if is_form:
            response: Response = RedirectResponse(
                back_to(scope, headers, fields.get("next")), status_code=303
            )
        else:
            response = JSONResponse(self.state(outcome.consent, headers), headers=NO_STORE)
        cookies = MutableHeaders(raw=response.raw_headers)
        for value in outcome.set_cookies:
            cookies.append("Set-Cookie", value)
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
        return Choice(action, frozenset(names))



def media_type(headers: dict[bytes, str]) -> str:
    """The request's media type, without parameters, in lower case ("" when none)."""
    return headers.get(CONTENT_TYPE, "").split(";")[0].strip().lower()


def disclosure_response(disclosure: Disclosure, format: str = "html") -> Response:
    """The answer to ``GET /consentkit/cookies?format=html|md|json`` (no format: html).

    Public and identical for every visitor, so caches may keep it for five minutes.
    """
    if format not in FORMATS:
        return JSONResponse(
            {"error": f"format must be one of {', '.join(FORMATS)}", "field": "format"},
            status_code=400, headers={"Cache-Control": "no-store"},
        )
    media_type, render = FORMATS[format]
    return Response(render(disclosure), media_type=media_type, headers={
        "Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff",
    })
