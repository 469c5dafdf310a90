"""Where a visitor came in from: a source name, from ``utm_source`` or the referring host.

Only the page view that brings a visitor in carries a source: one whose ``Referer`` is
another site (its host, named for the well-known ones: ``Google``, not ``www.google.de``),
or none at all (``Direct / None``), or whose address has ``utm_source``. A page reached
from the site itself has none. Of the referrer only the host is read, never its path or
query (where a search, an e-mail address or a session may hide); a host that is an IP
address is not kept either. UTM values that look like an identifier (``utm_campaign=
alice@example.com``, a long token) are kept as ``{id}``.

No well-kept Python package maps referrers to names (``referer-parser`` was last released
in 2016), so the table of well-known sites is kept here, after Plausible's and
Snowplow's lists.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from urllib.parse import parse_qsl, urlsplit

from starlette.types import Scope

from .pages import ID, looks_like_identifier

Origin = tuple[str, str, str]  # source, UTM medium, UTM campaign ("" for none)
NO_ORIGIN: Origin = ("", "", "")
DIRECT = "Direct / None"
DIRECT_ORIGIN: Origin = (DIRECT, "", "")
MAX_VALUE = 64  # characters of a source, medium or campaign kept at most
_HOST = re.compile(r"[a-z0-9.-]{1,253}")

# Well-known sites by their registrable domain (the last labels of the host).
KNOWN_SITES = {
    "google": "Google",
    "bing.com": "Bing",
    "duckduckgo.com": "DuckDuckGo",
    "yahoo.com": "Yahoo!",
    "yandex": "Yandex",
    "baidu.com": "Baidu",
    "ecosia.org": "Ecosia",
    "qwant.com": "Qwant",
    "startpage.com": "Startpage",
    "search.brave.com": "Brave",
    "kagi.com": "Kagi",
    "perplexity.ai": "Perplexity",
    "chatgpt.com": "ChatGPT",
    "facebook.com": "Facebook",
    "fb.com": "Facebook",
    "instagram.com": "Instagram",
    "twitter.com": "Twitter",
    "t.co": "Twitter",
    "x.com": "Twitter",
    "linkedin.com": "LinkedIn",
    "lnkd.in": "LinkedIn",
    "reddit.com": "Reddit",
    "news.ycombinator.com": "Hacker News",
    "youtube.com": "YouTube",
    "youtu.be": "YouTube",
    "github.com": "GitHub",
    "wikipedia.org": "Wikipedia",
    "pinterest.com": "Pinterest",
    "tiktok.com": "TikTok",
    "bsky.app": "Bluesky",
    "mastodon.social": "Mastodon",
    "threads.net": "Threads",
    "stackoverflow.com": "Stack Overflow",
    "medium.com": "Medium",
    "substack.com": "Substack",
    "slack.com": "Slack",
    "discord.com": "Discord",
    "telegram.org": "Telegram",
    "t.me": "Telegram",
    "whatsapp.com": "WhatsApp",
    "mail.google.com": "Gmail",
    "outlook.live.com": "Outlook.com",
}
# utm_source values that name a well-known site too ("fb", "ig" as Meta's links write them).
KNOWN_TAGS = {
    "google": "Google",
    "bing": "Bing",
    "duckduckgo": "DuckDuckGo",
    "facebook": "Facebook",
    "fb": "Facebook",
    "instagram": "Instagram",
    "ig": "Instagram",
    "twitter": "Twitter",
    "x": "Twitter",
    "linkedin": "LinkedIn",
    "reddit": "Reddit",
    "hn": "Hacker News",
    "hackernews": "Hacker News",
    "youtube": "YouTube",
    "github": "GitHub",
    "newsletter": "Newsletter",
}


@lru_cache(maxsize=4096)
def source_of_host(host: str) -> str | None:
    """The source name of a referring host: a well-known site's name, else the host
    without ``www.``; None for what is not a host name (an IP address, garbage)."""
    host = host.lower().rstrip(".")
    if not _HOST.fullmatch(host):
        return None
    try:
        ipaddress.ip_address(host)
        return None  # an address may point at a person's own machine
    except ValueError:
        pass
    labels = host.split(".")
    for size in (3, 2):  # search.brave.com before brave.com, google.co.uk as "google"
        if ".".join(labels[-size:]) in KNOWN_SITES:
            return KNOWN_SITES[".".join(labels[-size:])]
    for label in labels[:-1]:  # google.de, yandex.ru: the name before a country's domain
        if label in ("google", "yandex"):
            return KNOWN_SITES[label]
    return host.removeprefix("www.")[:MAX_VALUE]


def _tag(value: str) -> str:
    value = value.strip()[:MAX_VALUE]
    if not value:
        return ""
    if looks_like_identifier(value) or not value.isprintable():
        return ID
    return value


class SourceReader:
    """Reads the origin of a counted page view: only from its ``Referer``'s host, its own
    ``Host`` and its query string's ``utm_*`` parameters.

    They are read for each page view counted (here from the scope; on the returning path
    in the same pass as the visitor's headers, ``VisitReader.known_of``), and never kept
    with what the middleware remembers per visitor: a ``Referer`` changes at every click."""

    def origin(self, scope: Scope) -> Origin:
        headers = scope["headers"]
        referer = _header(headers, b"referer")
        host = b"" if referer is None else _header(headers, b"host") or b""
        return origin_of(scope.get("query_string", b""), referer, host)


def origin_of(query: bytes, referer: bytes | None, host: bytes) -> Origin:
    """The origin of a page view from its query string, its ``Referer`` (None when it has
    none) and its ``Host`` (the middleware's returning path reads the two headers with the
    visitor's own, in one pass over the request's headers)."""
    # (find, not `in`: `in` on bytes first tries the needle as an integer, and builds and
    # drops a TypeError each time, on every request)
    if query and query.find(b"utm_") != -1:
        # utm_source names the source, else the Referer does, with the tags' medium and
        # campaign
        tags = _utm_tags(query)
        if tags[0]:
            return KNOWN_TAGS.get(tags[0].lower(), tags[0]), tags[1], tags[2]
        found = origin_of(b"", referer, host)
        return found if not found[0] else (found[0], tags[1], tags[2])
    if referer is None:
        return DIRECT_ORIGIN  # no Referer: typed, bookmarked, or from an app
    source = referring_source(referer, host)
    if source is None:
        return NO_ORIGIN  # a page of the site itself: not a way in
    return DIRECT_ORIGIN if source is DIRECT else (source, "", "")


def _header(headers: list[tuple[bytes, bytes]], wanted: bytes) -> bytes | None:
    """The first value of a request header (None when there is none)."""
    for name, value in headers:
        if name == wanted:
            return value
    return None


def referring_source(referer: bytes, own_host: bytes) -> str | None:
    """The source a ``Referer`` names; None for a page of this site (or no URL at all).

    Not cached: a cache would hold whole referring URLs (searches, mail links) in memory;
    only their hosts are (``source_of_host``)."""
    # The common case, a click within the site, is told without parsing the URL.
    scheme_end = referer.find(b"://")
    if scheme_end > 0 and own_host:
        rest = referer[scheme_end + 3 :]
        # (the byte after the host compared, not looked up `in b"/?#"`: see origin())
        after = rest[len(own_host) : len(own_host) + 1]
        if rest.startswith(own_host) and after in (b"", b"/", b"?", b"#"):
            return None
    try:
        host = urlsplit(referer.decode("latin-1")).hostname
    except ValueError:
        return None
    if not host or host == own_host.decode("latin-1").partition(":")[0].lower():
        return None
    return source_of_host(host) or DIRECT


def _utm_tags(query: bytes) -> tuple[str, str, str]:
    found = {"utm_source": "", "utm_medium": "", "utm_campaign": ""}
    for name, value in parse_qsl(query.decode("latin-1")[:4096]):
        if name in found and not found[name]:
            found[name] = _tag(value)
    return found["utm_source"], found["utm_medium"], found["utm_campaign"]
