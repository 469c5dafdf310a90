"""The HTTP endpoints under the prefix (default ``/consentkit``): state, consent, banner files.

These are small and not on the hot path, so they use Starlette's responses for clarity.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from .bad_request import NO_STORE, BadRequest
from .banner_files import StaticFile
from .categories import NECESSARY, CategorySet
from .consent import Consent
from .decisions import ACTIONS, Choice, DecisionRecorder
from .derive import VisitorClassifier
from .disclosure import Disclosure, disclosure_response
from .errors import StoreError
from .incoming import (
    ACCEPT_LANGUAGE,
    CONTENT_LENGTH,
    CONTENT_TYPE,
    COOKIE,
    DNT,
    HOST,
    IF_NONE_MATCH,
    ORIGIN,
    REFERER,
    SEC_FETCH_SITE,
    USER_AGENT,
    query_value,
)
from .ledger import config_fingerprint
from .rights import VisitorRights
from .texts import BannerTexts


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
        self.max_body_size = max_body_size
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
            self.erase_body(await read_body(receive, headers, self.max_body_size), headers)
            return await self.rights.erase(scope, headers)
        except BadRequest as error:
            return error.response()

    @staticmethod
    def erase_body(body: bytes, headers: dict[bytes, str]) -> None:
        """An erasure needs no body; one that is sent must be well-formed."""
        content_type = headers.get(CONTENT_TYPE, "").split(";")[0].strip().lower()
        if not body.strip() or content_type == "application/x-www-form-urlencoded":
            return
        if content_type not in ("application/json", ""):
            raise BadRequest(415, "send no body, application/json or a form")
        json_object(body)

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
        body = await read_body(receive, headers, self.max_body_size)
        content_type = headers.get(CONTENT_TYPE, "").split(";")[0].strip().lower()
        is_form = content_type == "application/x-www-form-urlencoded"
        if is_form:
            form = parse_qsl(body.decode("utf-8", "replace"), max_num_fields=64)
            fields: dict[str, Any] = {
                "action": next((v for k, v in form if k == "action"), None),
                "categories": [v for k, v in form if k == "categories"],
                "next": next((v for k, v in form if k == "next"), None),
            }
        elif content_type in ("application/json", ""):
            fields = json_object(body)
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
                back_to(headers, fields.get("next")), status_code=303
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


def json_object(body: bytes) -> dict[str, Any]:
    """A request body that must be a JSON object (400 otherwise)."""
    try:
        fields = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(400, "the body is not valid JSON") from None
    if not isinstance(fields, dict):
        raise BadRequest(400, "the body must be a JSON object")
    return fields


def same_origin(scope: Scope, headers: dict[bytes, str]) -> None:
    """Refuse cross-site posts: Origin (or Referer) must name this host."""
    host = headers.get(HOST) or ""
    fetch_site = headers.get(SEC_FETCH_SITE)
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        raise BadRequest(403, "cross-origin requests may not change consent")
    source = headers.get(ORIGIN) or headers.get(REFERER)
    if source is None:
        return  # not a browser's cross-site request: browsers send Origin on every POST
    if source == "null" or urlsplit(source).netloc.lower() != host.lower():
        raise BadRequest(403, "cross-origin requests may not change consent")


async def read_body(receive: Receive, headers: dict[bytes, str], limit: int) -> bytes:
    declared = headers.get(CONTENT_LENGTH)
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise BadRequest(413, f"the body is larger than {limit} bytes")
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise BadRequest(400, "the client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BadRequest(413, f"the body is larger than {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def is_local_path(path: object) -> bool:
    """A path on this site: never another host (``//evil``, ``/\\evil``) or a scheme."""
    return (
        isinstance(path, str)
        and path.startswith("/")
        and not path.startswith(("//", "/\\"))
        and "\\" not in path
        and len(path) <= 2048
        and all(" " < c < "\x7f" for c in path)
    )


def back_to(headers: dict[bytes, str], next_path: object = None) -> str:
    """Where a no-JS form post returns: its ``next`` field, or the page it came from, or ``/``."""
    if is_local_path(next_path):
        assert isinstance(next_path, str)
        return next_path
    referer = headers.get(REFERER)
    if referer:
        parts = urlsplit(referer)
        if parts.netloc.lower() == (headers.get(HOST) or "").lower() and parts.path.startswith("/"):
            return parts.path + (f"?{parts.query}" if parts.query else "")
    return "/"

