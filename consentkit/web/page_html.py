"""consentkit's own template of the visitor's pages: a whole HTML document from a
``PrivacyPage``.

No inline script or style (the pages work under ``Content-Security-Policy: default-src
'self'``); every form works without JavaScript; every text is escaped. The look lives in
``static/privacy/privacy.css`` and follows the banner's ``--ck-*`` variables.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .pages import PrivacyPage

_CHOICES = (("custom", "save"), ("accept_all", "accept_all"), ("reject_all", "reject_all"))


def document(page: PrivacyPage) -> str:
    """The whole page: head, the navigation between the two pages, and ``page.content``."""
    texts, links = page.texts, page.links
    title = f"{page.title} · {page.site}" if page.site else page.title
    theme = (
        f'<link rel="stylesheet" href="{escape(links.site_stylesheet)}">\n'
        if links.site_stylesheet
        else ""
    )
    return f"""<!doctype html>
<html lang="{escape(page.language)}" dir="{page.direction}" class="ck-page">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="same-origin">
<meta name="robots" content="noindex">
<title>{escape(title)}</title>
<link rel="stylesheet" href="{escape(links.stylesheet)}">
{theme}<script src="{escape(links.banner)}" defer></script>
<script src="{escape(links.script)}" defer></script>
</head>
<body>
<header class="ck-page-header">
<nav aria-label="{escape(texts["title"])}"><ul>
<li>{_nav_link(links.me, texts["me_title"], page.kind == "me")}</li>
<li>{_nav_link(links.cookies, texts["cookies_title"], page.kind == "cookies")}</li>
<li><a href="/">{escape(texts["back_to_site"])}</a></li>
</ul></nav>
</header>
<main class="ck-page-main">
{page.content}
</main>
</body>
</html>
"""


def content(page: PrivacyPage) -> str:
    """The main part of a page, by its kind."""
    return {"me": _me, "cookies": _cookies, "erased": _erased, "refused": _refused}[page.kind](page)


def _me(page: PrivacyPage) -> str:
    texts = page.texts
    return "\n".join(
        [
            f"<h1>{escape(page.title)}</h1>",
            f'<p class="ck-lead">{escape(texts["me_intro"])}</p>',
            _section("ck-choice", texts["choice_heading"], _choice(page)),
            _section("ck-change", texts["change_heading"], _change(page)),
            _section("ck-history", texts["history_heading"], _history(page)),
            _section("ck-not-held", texts["not_held_heading"], _not_held(page)),
            _section("ck-download", texts["download_heading"], _downloads(page)),
            _section("ck-erase", texts["erase_heading"], _erase(page)),
        ]
    )


def _choice(page: PrivacyPage) -> str:
    texts, consent = page.texts, page.consent
    parts = []
    if consent.decided:
        granted = [c.title for c in page.categories if c.granted]
        parts.append(_p(_fill(page, "choice_allowed", categories=_join(page, granted))))
        if consent.decided_at is not None:
            when = _when(consent.decided_at)
            since = _fill(page, "choice_since", version=consent.policy_version or "")
            date = f'<time datetime="{escape(when[0])}" dir="ltr">{escape(when[1])}</time>'
            parts.append(f"<p>{escape(since).replace(escape('{date}'), date)}</p>")
    else:
        parts.append(_p(texts["choice_none"]))
        last = page.decisions[-1] if page.decisions else None
        if last is not None and last.policy_version != page.policy_version:
            parts.append(_p(_fill(page, "choice_outdated", version=last.policy_version)))
    if consent.gpc:
        parts.append(_p(texts["gpc_notice"], "ck-note"))
    return "\n".join(parts)


def _change(page: PrivacyPage) -> str:
    texts, links = page.texts, page.links
    rows = []
    for category in page.categories:
        field = f"ck-field-{escape(category.name)}"
        state = " checked disabled" if category.required else " checked" if category.granted else ""
        described = f' aria-describedby="{field}-d"' if category.description else ""
        rows.append(
            f'<div class="ck-check"><input type="checkbox" id="{field}" name="categories"'
            f' value="{escape(category.name)}"{state}{described}>'
            f'<label for="{field}">{escape(category.title)}</label>'
            + (
                f'<p id="{field}-d" class="ck-muted">{escape(category.description)}</p>'
                if category.description
                else ""
            )
            + "</div>"
        )
    buttons = "".join(
        f'<button type="submit" class="ck-button" name="action" value="{action}">'
        f"{escape(texts[key])}</button>"
        for action, key in (
            ("custom", "save"),
            ("accept_all", "accept_all"),
            ("reject_all", "reject_all"),
        )
    )
    return (
        f'<p data-ck-js hidden><button type="button" class="ck-button" data-consentkit-open>'
        f"{escape(texts['change_open'])}</button></p>\n"
        f'<form method="post" action="{escape(links.consent)}" class="ck-form">'
        f'<input type="hidden" name="next" value="{escape(links.me)}">'
        f"<fieldset><legend>{escape(texts['preferences'])}</legend>{''.join(rows)}</fieldset>"
        f'<div class="ck-buttons">{buttons}</div></form>'
    )


def _history(page: PrivacyPage) -> str:
    texts = page.texts
    if not page.decisions:
        return _p(texts["history_empty"])
    items = []
    for decision in reversed(page.decisions):  # the newest first
        lines = [
            f'<p class="ck-when"><time datetime="{escape(decision.decided_at)}" dir="ltr">'
            f"{escape(decision.when)}</time></p>",
            _p(
                _fill(page, "history_granted", categories=_join(page, decision.granted))
                if decision.granted
                else texts["history_only_necessary"]
            ),
        ]
        if decision.withdrawn:
            lines.append(
                _p(_fill(page, "history_withdrawn", categories=_join(page, decision.withdrawn)))
            )
        policy = _fill(page, "history_policy", version=decision.policy_version)
        lines.append(_p(f"{decision.how} {policy}", "ck-muted"))
        items.append(f'<li class="ck-decision">{"".join(lines)}</li>')
    return f'<ol class="ck-history" reversed>{"".join(items)}</ol>'


def _not_held(page: PrivacyPage) -> str:
    keys = ("not_held_ip", "not_held_agent", "not_held_analytics", "not_held_subject")
    return _list(page.texts[key] for key in keys)


def _downloads(page: PrivacyPage) -> str:
    texts, links = page.texts, page.links
    return (
        '<p class="ck-buttons">'
        f'<a class="ck-button" href="{escape(links.export_csv)}" download>'
        f"{escape(texts['download_csv'])}</a>"
        f'<a class="ck-button" href="{escape(links.export_json)}" download>'
        f"{escape(texts['download_json'])}</a></p>"
    )


def _erase(page: PrivacyPage) -> str:
    texts = page.texts
    return (
        _p(texts["erase_explain"])
        + '<details class="ck-confirm">'
        + f'<summary class="ck-button ck-danger">{escape(texts["erase_open"])}</summary>'
        + f'<form method="post" action="{escape(page.links.erase)}">'
        + '<input type="hidden" name="confirm" value="yes">'
        + _p(texts["erase_confirm_text"])
        + '<button type="submit" class="ck-button ck-danger">'
        + f"{escape(texts['erase_confirm'])}</button></form></details>"
    )


def _cookies(page: PrivacyPage) -> str:
    texts = page.texts
    return "\n".join(
        [
            f"<h1>{escape(page.title)}</h1>",
            f'<p class="ck-lead">{escape(texts["cookies_intro"])}</p>',
            page.disclosure_html,
            '<p class="ck-buttons">'
            f'<span data-ck-js hidden><button type="button" class="ck-button" '
            f"data-consentkit-open>{escape(texts['change_open'])}</button></span>"
            f'<a class="ck-button" href="{escape(page.links.me)}">'
            f"{escape(texts['back_to_me'])}</a></p>",
        ]
    )


def _erased(page: PrivacyPage) -> str:
    texts = page.texts
    if page.erased_cookies:
        cookies = _fill(page, "erased_cookies", cookies=_join(page, page.erased_cookies))
    else:
        cookies = texts["erased_no_cookies"]
    return "\n".join(
        [
            f"<h1>{escape(page.title)}</h1>",
            '<div role="status">',
            _p(_fill(page, "erased_records", count=str(page.erased_records))),
            _p(cookies),
            "</div>",
            _back_links(page),
        ]
    )


def _refused(page: PrivacyPage) -> str:
    return "\n".join(
        [f"<h1>{escape(page.title)}</h1>", _p(page.error, "ck-error"), _back_links(page)]
    )


def _back_links(page: PrivacyPage) -> str:
    return (
        '<p class="ck-buttons">'
        f'<a class="ck-button" href="{escape(page.links.me)}">'
        f"{escape(page.texts['back_to_me'])}</a>"
        f'<a class="ck-button" href="/">{escape(page.texts["back_to_site"])}</a></p>'
    )


def _section(anchor: str, heading: str, body: str) -> str:
    return (
        f'<section class="ck-section" aria-labelledby="{anchor}">'
        f'<h2 id="{anchor}">{escape(heading)}</h2>\n{body}\n</section>'
    )


def _nav_link(href: str, text: str, current: bool) -> str:
    marker = ' aria-current="page"' if current else ""
    return f'<a href="{escape(href)}"{marker}>{escape(text)}</a>'


def _p(text: str, css_class: str = "") -> str:
    attribute = f' class="{css_class}"' if css_class else ""
    return f"<p{attribute}>{escape(text)}</p>"


def _list(items: Iterable[str]) -> str:
    return "<ul>" + "".join(f"<li>{escape(item)}</li>" for item in items) + "</ul>"


def _fill(page: PrivacyPage, key: str, **values: str) -> str:
    """A text with its ``{name}`` placeholders filled (other braces are left alone). On a
    right-to-left page each value is isolated, so that a date, a version or a Latin name
    keeps its own order."""
    text = page.texts[key]
    for name, value in values.items():
        shown = f"\u2068{value}\u2069" if page.direction == "rtl" else value
        text = text.replace("{" + name + "}", shown)
    return text


def _join(page: PrivacyPage, items: Iterable[str]) -> str:
    return page.texts["list_separator"].join(items)


def _when(timestamp: int) -> tuple[str, str]:
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ"), moment.strftime("%Y-%m-%d %H:%M UTC")
