"""The visitor's pages: ``GET /consentkit/me`` and ``GET /consentkit/cookies`` for a browser
that asks for HTML, and the answers to the privacy center's forms.

Each page is first gathered as plain data (``PrivacyPage``), then rendered: by consentkit's
own template (``page_html.py``), or by the site's ``privacy_template``, a callable that takes
the ``PrivacyPage`` and returns the HTML document (``consentkit.jinja.privacy_template``
makes one from a Jinja2 template). JSON clients are answered as before; ``wants_html``
decides.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from starlette.responses import HTMLResponse, Response

from ..consent.categories import NECESSARY
from ..consent.consent import Consent
from ..disclosure import Disclosure
from ..locales.pages import PageTexts
from ..settings import ConsentSettings
from ..visit.request import ACCEPT, ACCEPT_LANGUAGE, HOST, Visit
from . import page_html
from .bad_request import NO_STORE, BadRequest
from .static_files import StaticFile, load_static_files

PAGE_FILES = {
    "privacy.css": "text/css; charset=utf-8",
    "privacy.js": "text/javascript; charset=utf-8",
}
PrivacyTemplate = Callable[["PrivacyPage"], str]
# consentkit's own pages need nothing from elsewhere; no site may frame the erase button.
OWN_PAGE_POLICY = "default-src 'self'; form-action 'self'; frame-ancestors 'none'"


def wants_html(visit: Visit) -> bool:
    """Whether the client prefers an HTML page to JSON: a browser's navigation sends
    ``Accept: text/html,...``; ``application/json``, ``*/*`` or no ``Accept`` get JSON."""
    weights = {"text/html": 0.0, "application/json": 0.0}
    for part in visit.header(ACCEPT).split(",")[:32]:
        media, *params = (piece.strip() for piece in part.split(";"))
        if media.lower() not in weights:
            continue
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    weight = 0.0
        weights[media.lower()] = max(weights[media.lower()], weight)
    return weights["text/html"] > weights["application/json"]


@dataclass(frozen=True, slots=True)
class PageLinks:
    """The URLs a page links to (absolute paths under the prefix)."""

    me: str
    cookies: str
    export_csv: str
    export_json: str
    erase: str
    consent: str
    stylesheet: str
    script: str
    banner: str
    site_stylesheet: str | None = None


@dataclass(frozen=True, slots=True)
class PageCategory:
    """A category as the pages show it, in the visitor's language."""

    name: str
    title: str
    description: str
    required: bool
    granted: bool


@dataclass(frozen=True, slots=True)
class PastDecision:
    """One record of the ledger, in words: when, what was granted or withdrawn, how."""

    decided_at: str  # ISO 8601, UTC
    when: str  # for people: "2026-11-29 14:05 UTC"
    action: str
    how: str
    granted: tuple[str, ...]  # category titles, necessary left out
    withdrawn: tuple[str, ...]
    policy_version: str


@dataclass(frozen=True, slots=True)
class PrivacyPage:
    """Everything one page shows; a site's ``privacy_template`` receives this.

    ``kind`` is ``"me"`` (the privacy center), ``"cookies"`` (the cookie policy),
    ``"erased"`` (the answer to an erasure) or ``"refused"`` (a request that was refused,
    ``error`` says why). ``texts`` holds the page's and the banner's texts in ``language``;
    ``content`` is consentkit's own rendering of the page's main part (HTML), for a
    template that only wants to put it inside the site's layout.
    """

    kind: str
    title: str
    language: str
    direction: str
    site: str
    texts: Mapping[str, str]
    links: PageLinks
    consent: Consent
    policy_version: str
    categories: tuple[PageCategory, ...]
    decisions: tuple[PastDecision, ...] = ()
    identified: bool = False
    erased_records: int = 0
    erased_cookies: tuple[str, ...] = ()
    disclosure_html: str = ""
    error: str = ""
    status: int = 200
    content: str = field(default="", compare=False)


class PrivacyPages:
    """Builds and renders the visitor's pages for one site."""

    def __init__(
        self, settings: ConsentSettings, disclosure: Disclosure, banner: StaticFile
    ) -> None:
        self.texts = PageTexts(settings.banner_texts)
        self.banner_texts = settings.banner_texts
        self.categories = settings.category_set.all
        self.policy_version = settings.policy_version
        self.disclosure = disclosure
        self.template: PrivacyTemplate | None = settings.privacy_template
        self.files = load_static_files("privacy", PAGE_FILES)
        prefix = settings.prefix
        self.links = PageLinks(
            me=f"{prefix}/me",
            cookies=f"{prefix}/cookies",
            export_csv=f"{prefix}/me/export?format=csv",
            export_json=f"{prefix}/me/export?format=json",
            erase=f"{prefix}/me/erase",
            consent=f"{prefix}/consent",
            stylesheet=f"{prefix}/privacy.css?v={self.files['privacy.css'].version}",
            script=f"{prefix}/privacy.js?v={self.files['privacy.js'].version}",
            banner=f"{prefix}/banner.js?v={banner.version}",
            site_stylesheet=settings.privacy_stylesheet,
        )
        # The disclosure is the same for everyone who speaks a language: built once.
        self.disclosures = {
            language: disclosure.to_html(self.texts, language) for language in self.texts.texts
        }

    def language(self, visit: Visit) -> str:
        language: str = self.banner_texts.negotiate(visit.headers.get(ACCEPT_LANGUAGE))
        return language

    def page(self, visit: Visit, kind: str, **fields: Any) -> PrivacyPage:
        language = self.language(visit)
        texts = {**self.banner_texts.texts[language], **self.texts.texts[language]}
        consent = visit.consent
        categories = tuple(
            PageCategory(
                c.name,
                *self.texts.category(language, c.name, c.title, c.description),
                required=c.name == NECESSARY,
                granted=c.name == NECESSARY or consent.allows(c.name),
            )
            for c in self.categories
        )
        title_key = {"me": "me_title", "cookies": "cookies_title", "erased": "erased_title"}
        title = fields.pop("title", None) or texts[title_key[kind]]
        page = PrivacyPage(
            kind=kind,
            title=title,
            language=language,
            direction=self.texts.direction(language),
            site=_site_name(visit),
            texts=texts,
            links=self.links,
            consent=consent,
            policy_version=self.policy_version,
            categories=categories,
            **fields,
        )
        return replace(page, content=page_html.content(page))

    def render(self, page: PrivacyPage, *, cache: str = "no-store") -> Response:
        headers = {
            "Cache-Control": cache,
            # The cookie policy is the same for every visitor who speaks a language.
            "Vary": "Accept, Accept-Language" + (", Cookie" if page.kind != "cookies" else ""),
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
        }
        if self.template is None:
            document = page_html.document(page)
            headers["Content-Security-Policy"] = OWN_PAGE_POLICY
        else:
            document = self.template(page)
        return HTMLResponse(document, status_code=page.status, headers=headers)

    def me(self, visit: Visit, records: Sequence[dict[str, Any]], identified: bool) -> Response:
        decisions = self.history(visit, records)
        return self.render(self.page(visit, "me", decisions=decisions, identified=identified))

    def cookies(self, visit: Visit) -> Response:
        language = self.language(visit)
        page = self.page(visit, "cookies", disclosure_html=self.disclosures[language])
        return self.render(page, cache="public, max-age=300")

    def fragment(self, visit: Visit) -> Response:
        """The cookie policy as a fragment to embed, in the visitor's language."""
        return HTMLResponse(
            self.disclosures[self.language(visit)],
            headers={
                "Cache-Control": "public, max-age=300",
                "Vary": "Accept, Accept-Language",
                "X-Content-Type-Options": "nosniff",
            },
        )

    def erased(self, visit: Visit, records: int, cookies: Sequence[str]) -> Response:
        page = self.page(visit, "erased", erased_records=records, erased_cookies=tuple(cookies))
        return self.render(page)

    def refused(self, visit: Visit, error: BadRequest) -> Response:
        texts = self.texts.texts[self.language(visit)]
        cross_site = error.status == 403
        page = self.page(
            visit,
            "refused",
            title=texts["refused_title" if cross_site else "failed_title"],
            error=texts["refused_cross_site"] if cross_site else error.message,
            status=error.status,
        )
        response = self.render(page)
        response.headers.update(NO_STORE)
        return response

    def history(self, visit: Visit, records: Sequence[dict[str, Any]]) -> tuple[PastDecision, ...]:
        language = self.language(visit)
        texts = self.texts.texts[language]
        titles = {
            c.name: self.texts.category(language, c.name, c.title, c.description)[0]
            for c in self.categories
        }
        decisions, before = [], set[str]()
        for record in records:
            now = {name for name in record["categories"] if name != NECESSARY}
            decided = datetime.strptime(record["decided_at"], "%Y-%m-%dT%H:%M:%SZ")
            decisions.append(
                PastDecision(
                    decided_at=record["decided_at"],
                    when=decided.replace(tzinfo=UTC).strftime("%Y-%m-%d %H:%M UTC"),
                    action=record["action"],
                    how=texts.get(f"how_{record['action']}", record["action"]),
                    granted=tuple(titles.get(n, n) for n in _in_order(now, titles)),
                    withdrawn=tuple(titles.get(n, n) for n in _in_order(before - now, titles)),
                    policy_version=record["policy_version"],
                )
            )
            before = now
        return tuple(decisions)


def _in_order(names: set[str], order: Mapping[str, str]) -> list[str]:
    known = [n for n in order if n in names]
    return known + sorted(names - set(order))


def _site_name(visit: Visit) -> str:
    host = visit.header(HOST)
    return host if host and len(host) <= 255 and host.isprintable() else ""
