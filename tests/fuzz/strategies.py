"""What a hostile client sends: generated visits of one to four requests to any endpoint.

A ``Visit`` comes from one address and may begin with a genuine decision (or an admin
login), so that the requests after it can carry genuine cookies, tampered ones, or none.
Everything identifying that a visit sends (addresses, user agents, cookie values) is
recorded in ``Sent``, for the scan of the stores afterwards.
"""

from __future__ import annotations

import ipaddress
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import strategies as st

TOKEN = "admin-token-for-fuzzing-0123456789"
HOST = "testserver"
PREFIX = "/consentkit"
CATEGORIES = ["necessary", "analytics", "marketing"]
ACTIONS = ["accept_all", "reject_all", "custom"]

HOSTILE = [
    "",
    " ",
    "\x00",
    "\x00" * 9,
    "%00",
    "\ud800",
    "\udfff\ud800",
    "\ufeff",
    "\u202e",
    "é",
    "日本語",
    "\r\n",
    "\t",
    "\x7f",
    "\x85",
    "../../etc/passwd",
    "//evil.example",
    "/\\evil.example",
    "javascript:alert(1)",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "${jndi:ldap://x}",
    "%s%n",
    "\\u0000",
    "null",
    "[]",
    "{}",
    "1e999",
    "-0",
    "9" * 400,
    "accept_all",
    "analytics",
    "consentkit",
    "default",
    "a=b; c=d",
    '"',
    "\\",
]
text = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=40),
    st.text(st.characters(codec="latin-1"), max_size=40),
)


def _encodable(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")


def _form(pairs: list[tuple[str, str]]) -> bytes:
    """A form body; an unpaired surrogate goes out as the bytes a sloppy client would send."""
    return urlencode(pairs, errors="surrogatepass").encode()


def often(strategy: st.SearchStrategy[Any], *, but: st.SearchStrategy[Any]) -> Any:
    """Mostly ``strategy`` (about four times in five), sometimes ``but``: requests that pass
    the first checks reach the code behind them."""
    return st.integers(0, 4).flatmap(lambda n: but if n == 0 else strategy)


# --- addresses ------------------------------------------------------------------------

# Some from the test country database's networks, so that countries get looked up.
ipv4 = st.one_of(
    st.ip_addresses(v=4),
    st.integers(1, 254).map(lambda n: f"203.0.113.{n}"),
    st.integers(1, 254).map(lambda n: f"198.51.100.{n}"),
)
address = st.one_of(ipv4.map(str), st.ip_addresses(v=6).map(str))
forwarded_for = st.one_of(
    st.lists(address, min_size=1, max_size=4).map(", ".join),
    st.sampled_from(["::::, 999.1.1.1", "unknown", "", ",,,", "1.2.3.4:80", "[::1]:8080"]),
    text,
)


# --- bodies -----------------------------------------------------------------------------

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), text)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4)),
    max_leaves=12,
)
consent_shaped = st.fixed_dictionaries(
    {"action": often(st.sampled_from(ACTIONS), but=json_leaf)},
    optional={
        "categories": often(
            st.lists(st.sampled_from(CATEGORIES), max_size=3),
            but=st.one_of(st.lists(text, max_size=3), json_value),
        ),
        "next": st.one_of(st.sampled_from(["/", "//evil.example", "/ok?x=1"]), text),
    },
)
VALUES = [
    "DE",
    "US",
    "ZZ",
    "desktop",
    "Mobile",
    "Chrome",
    "iOS",
    "/",
    "/items/{item_id}",
    "accept_all",
    "analytics",
]
filter_value = st.lists(
    st.one_of(st.sampled_from(VALUES), st.sampled_from(HOSTILE), text), min_size=1, max_size=3
)
day = st.one_of(st.dates(), st.sampled_from([date.min, date.max, date(1970, 1, 1)])).map(str)


def _condition(dimensions: list[str]) -> st.SearchStrategy[list[Any]]:
    return st.tuples(
        often(
            st.sampled_from(["is", "is_not", "contains"]),
            but=st.sampled_from(["matches", "contains_not", "IS", ""]),
        ),
        often(st.sampled_from(dimensions), but=st.sampled_from(["time:day", "nope", ""])),
        often(filter_value, but=json_value),
    ).map(list)


def _filters(dimensions: list[str]) -> st.SearchStrategy[list[Any]]:
    nested = st.recursive(
        _condition(dimensions),
        lambda inner: st.one_of(
            st.tuples(st.sampled_from(["and", "or"]), st.lists(inner, min_size=1, max_size=3)).map(
                list
            ),
            st.tuples(st.just("not"), inner).map(list),
        ),
        max_leaves=12,  # deeper than the parser's limit of 8, now and then
    )
    return st.lists(nested, max_size=3)


VISIT = ["visit:country", "visit:device", "visit:browser", "visit:os", "event:page"]
TIME = ["time:hour", "time:day", "time:week", "time:month"]
CONSENT = ["consent:action", "consent:category"]


def _query(metrics: list[str], dimensions: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "metrics": st.lists(st.sampled_from(metrics), min_size=1, max_size=2, unique=True),
            "date_range": often(
                st.one_of(
                    st.sampled_from(["day", "7d", "30d", "month", "12mo", "all"]),
                    st.lists(day, min_size=2, max_size=2).map(sorted),
                ),
                but=st.one_of(st.lists(st.one_of(day, text), min_size=2, max_size=2), json_value),
            ),
        },
        optional={
            "dimensions": st.lists(st.sampled_from(dimensions), max_size=3, unique=True),
            "filters": _filters([d for d in dimensions if not d.startswith("time:")]),
            "site_id": often(st.just("default"), but=text),
            "order_by": often(st.just([]), but=json_value),
            "pagination": often(
                st.fixed_dictionaries(
                    {"limit": st.integers(1, 10_000), "offset": st.integers(0, 10**12)}
                ),
                but=st.one_of(
                    st.fixed_dictionaries({"limit": st.integers(-5, 20_000)}), json_value
                ),
            ),
        },
    )


# A query that is right in every way but one value: what reaches the store's SQL.
one_hostile_value = st.fixed_dictionaries(
    {
        "metrics": st.sampled_from([["visitors"], ["decisions"]]),
        "date_range": st.sampled_from(["7d", "all"]),
        "filters": st.tuples(
            st.sampled_from(["is", "is_not", "contains"]),
            st.sampled_from(["visit:country", "visit:browser"]),
            st.lists(st.one_of(st.sampled_from(HOSTILE), text), min_size=1, max_size=2),
        ).map(lambda c: [list(c)]),
    },
    optional={"site_id": st.one_of(st.sampled_from(HOSTILE), text)},
)
query_shaped = often(
    st.one_of(
        _query(["visitors", "pageviews", "percentage"], VISIT + TIME),
        _query(["decisions", "grant_rate"], VISIT[:3] + TIME + CONSENT),
        one_hostile_value,
    ),
    but=st.dictionaries(
        st.sampled_from(["metrics", "date_range", "dimensions", "filters", "include", "x"]),
        json_value,
    ),
)


def _nested(opening: str, depth: int) -> bytes:
    closing = {"[": "]", '{"a":': "}"}[opening]
    return (opening * depth + "1" + closing * depth).encode()


body = st.one_of(
    consent_shaped.map(lambda v: json.dumps(v).encode()),
    query_shaped.map(lambda v: json.dumps(v).encode()),
    json_value.map(lambda v: json.dumps(v).encode()),
    st.builds(_nested, st.sampled_from(["[", '{"a":']), st.integers(1, 6000)),
    st.lists(
        st.tuples(
            st.one_of(st.sampled_from(["action", "categories", "next", "token"]), text), text
        ),
        max_size=80,
    ).map(lambda pairs: _form(pairs)),
    st.integers(0, 200).map(lambda n: "&".join(["a=1"] * n).encode()),
    st.builds(
        lambda b, n: b * n,
        st.sampled_from([b"x", b"[", b"&", b"\x00", b"\xff"]),
        st.sampled_from([0, 4095, 4096, 4097, 65536, 65537, 100_000]),
    ),
    st.binary(max_size=300),
    text.map(_encodable),
)
content_type = st.one_of(
    st.sampled_from(
        [
            None,
            "application/json",
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=utf-8",
            "application/json; charset=latin-1",
            "text/plain",
            "multipart/form-data",
            "APPLICATION/JSON",
            "",
        ]
    ),
    text,
)


# --- cookies ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CookieSpec:
    """How one request's Cookie header is built from the visit's genuine cookies."""

    kind: str  # none | genuine | tampered | oversized | many | raw | admin
    detail: Any = None


cookie = st.one_of(
    st.just(CookieSpec("none")),
    st.just(CookieSpec("genuine")),
    st.builds(
        CookieSpec,
        st.just("tampered"),
        st.tuples(st.integers(0, 200), st.sampled_from('A_-.|=0 "\\;é')),
    ),
    st.builds(CookieSpec, st.just("oversized"), st.integers(4000, 100_000)),
    st.builds(CookieSpec, st.just("many"), st.integers(50, 3000)),
    st.builds(CookieSpec, st.just("raw"), st.one_of(text.map(_encodable), st.binary(max_size=200))),
    st.builds(CookieSpec, st.just("admin"), st.booleans()),  # True: tampered
)


# --- headers and requests ---------------------------------------------------------------

USER_AGENTS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/119.0.0.0 Safari/537.36",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 " + "(" * 300,
    "curl/8.5.0",
    "",
]
origin = st.one_of(
    st.sampled_from(
        [
            f"http://{HOST}",
            f"https://{HOST}",
            f"http://{HOST}:80",
            f"http://{HOST}:8080",
            "null",
            "https://evil.example",
            f"http://{HOST}.evil",
            f"http://[{HOST}",
            f"http://{HOST}:99999",
            f"HTTP://{HOST.upper()}",
        ]
    ),
    text,
)
referer = st.one_of(
    origin.map(lambda o: o + "/page?x=1"),
    st.sampled_from(
        [f"http://{HOST}//evil.example/landing", f"http://{HOST}/\\evil", f"http://{HOST}/\t/evil"]
    ),
)
content_length = st.sampled_from(["abc", "-1", "99999999999999999999", "²", "1", "0", " 5"])


@st.composite
def headers(draw: st.DrawFn, marker: str) -> list[tuple[bytes, bytes]]:
    """A request's headers; its user agent always ends in the visit's ``marker``."""
    agent = draw(
        st.one_of(
            st.sampled_from(USER_AGENTS),
            text,
            # an app's user agent, whose first token becomes the browser's name
            text.map(lambda name: f"{name}/70 CFNetwork/978.0.7 Darwin/18.5.0"),
        )
    )
    found = [(b"user-agent", f"{agent} ({marker})".encode("latin-1", "replace"))]
    if draw(often(st.just(True), but=st.just(False))):
        sent_origin = draw(often(st.just(f"http://{HOST}"), but=origin))
        found.append((b"origin", sent_origin.encode("latin-1", "replace")))
    optional: dict[bytes, st.SearchStrategy[str]] = {
        b"sec-gpc": st.sampled_from(["1", "0", "1" * 500, "\x00", "yes"]),
        b"dnt": st.sampled_from(["1", "0", "1\x00" * 50]),
        b"x-forwarded-for": forwarded_for,
        b"accept-language": st.one_of(
            st.sampled_from(
                ["de-DE,de;q=0.9", "ar", "xx;q=abc, " * 300, ";;;,,,q=,", "*", "zh-Hant-TW;q=0.8"]
            ),
            text,
        ),
        b"accept": st.sampled_from(["text/html", "application/json", "*/*", "text/csv"]),
        b"referer": referer,
        b"sec-fetch-site": st.sampled_from(["same-origin", "none", "cross-site", "same-site"]),
        b"if-none-match": st.one_of(st.just("*"), text),
        b"content-length": content_length,
    }
    for name, values in optional.items():
        if draw(st.integers(0, 9)) == 0:
            found.append((name, draw(values).encode("latin-1", "replace")))
    return found


ENDPOINTS = [  # (method, path) as the banner, a visitor or an admin sends them
    ("GET", "state"),
    ("POST", "consent"),
    ("POST", "consent"),
    ("GET", "me"),
    ("GET", "me/export"),
    ("POST", "me/erase"),
    ("POST", "me/erase"),  # twice: it succeeds only with a decision and a fitting body
    ("GET", "cookies"),
    ("GET", "banner.js"),
    ("GET", "banner.css"),
    ("POST", "api/query"),
    ("POST", "api/query"),
    ("GET", "api/cookies"),
    ("GET", "dashboard"),
    ("POST", "dashboard/login"),
    ("POST", "dashboard/logout"),
    ("GET", "dashboard/dashboard.js"),
    ("POST", "event"),
]
PAGES = ["/", "/items/{}", "/raw/{}", "/consent-echo", "/sets-cookies"]
query_string = st.one_of(
    st.sampled_from(["format=json", "format=csv", "format=html", "v=1"]),
    text.map(lambda t: "format=" + quote(_encodable(t), safe="")),
    st.integers(0, 300).map(lambda n: "&".join(["p=1"] * n)),
    st.binary(max_size=40).map(lambda b: quote(b, safe="=&")),
)
form = st.tuples(
    often(st.sampled_from(ACTIONS).map(lambda a: [("action", a)]), but=st.just([])),
    st.lists(
        st.tuples(
            often(st.just("categories"), but=st.sampled_from(["next", "token"])),
            often(st.sampled_from([*CATEGORIES, "/", "//evil"]), but=text),
        ),
        max_size=8,
    ),
).map(lambda parts: _form(parts[0] + parts[1]))
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
FITTING: dict[str, st.SearchStrategy[tuple[bytes, str | None]]] = {  # what each one expects
    "consent": st.one_of(
        consent_shaped.map(lambda v: (json.dumps(v).encode(), JSON)), form.map(lambda b: (b, FORM))
    ),
    "api/query": query_shaped.map(lambda v: (json.dumps(v).encode(), JSON)),
    "dashboard/login": st.one_of(st.just(TOKEN), text).map(lambda t: (_form([("token", t)]), FORM)),
    "me/erase": st.sampled_from([(b"", None), (b"{}", JSON), (b"", FORM)]),
    "dashboard/logout": st.just((b"", None)),
    "event": st.one_of(
        st.builds(
            lambda name: {"name": name},
            often(st.sampled_from(["signup", "purchase"]), but=text),
        ),
        st.builds(
            lambda page: {"pageview": page},
            often(st.sampled_from(["/", "/items/1"]), but=text),
        ),
        st.builds(
            lambda page, ms, scroll: {"engagement": {"page": page, "ms": ms, "scroll": scroll}},
            often(st.sampled_from(["/", "/items/1"]), but=text),
            often(st.integers(0, 60_000), but=st.one_of(st.integers(), st.floats(), text)),
            often(st.integers(0, 100), but=st.one_of(st.integers(), st.floats(), text)),
        ),
    ).map(lambda v: (json.dumps(v).encode(), JSON)),
}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: list[tuple[bytes, bytes]]
    cookie: CookieSpec
    body: bytes
    content_type: str | None
    bearer: str | None


@dataclass(frozen=True)
class Visit:
    address: str
    opening: str | None  # a genuine decision's action, "login", or nothing
    requests: list[Request]
    marker: str


@st.composite
def request(draw: st.DrawFn, marker: str) -> Request:
    name = ""
    if draw(st.integers(0, 4)) == 0:  # a page of the site
        method = "GET"
        path = draw(st.sampled_from(PAGES)).format(quote(_encodable(draw(text)), safe="") or 1)
    else:
        method, name = draw(st.sampled_from(ENDPOINTS))
        path = f"{PREFIX}/{name}"
    if draw(st.integers(0, 6)) == 0:
        method = draw(st.sampled_from(["GET", "POST", "HEAD", "PUT", "DELETE"]))
    if draw(st.integers(0, 3)) == 0:
        path += "?" + draw(query_string)
    content: bytes = b""
    kind: str | None = None
    if method in ("POST", "PUT"):
        hostile = st.tuples(body, content_type)
        content, kind = draw(often(FITTING[name], but=hostile) if name in FITTING else hostile)
    return Request(
        method=method,
        path=path,
        headers=draw(headers(marker)),
        cookie=draw(often(st.just(CookieSpec("genuine")), but=cookie)),
        body=content,
        content_type=kind,
        bearer=draw(often(st.just(TOKEN), but=st.one_of(st.none(), text))),
    )


@st.composite
def visit(draw: st.DrawFn) -> Visit:
    marker = "fz" + draw(st.binary(min_size=6, max_size=6)).hex()
    return Visit(
        address=draw(address),
        opening=draw(st.sampled_from([None, *ACTIONS, "login"])),
        requests=draw(st.lists(request(marker), min_size=1, max_size=4)),
        marker=marker,
    )


# --- what was sent ----------------------------------------------------------------------


@dataclass
class Sent:
    """Everything identifying that the fuzzer sent or was given, for the scan."""

    addresses: set[str] = field(default_factory=set)
    markers: set[str] = field(default_factory=set)
    cookie_values: set[str] = field(default_factory=set)
    pages: set[str] = field(default_factory=set)  # paths are kept (route templates aside)
    visits: int = 0
    requests: int = 0
    answers: Counter[tuple[str, str, int]] = field(default_factory=Counter)

    def answered(self, method: str, path: str, status: int) -> None:
        where = path.split("?")[0]
        where = where if where.startswith(PREFIX) else "/items/*" if "/items/" in where else where
        self.answers[method, where, status] += 1

    def needles(self) -> dict[str, list[bytes]]:
        found: dict[str, list[bytes]] = {}
        for text_address in self.addresses:
            ip = ipaddress.ip_address(text_address)
            variants = [v for v in (str(ip).encode(), ip.exploded.encode()) if len(v) >= 7]
            # Packed, only what would not turn up in a large file by chance: 4 random bytes
            # would, and so would the sixteen zeros of "::".
            if ip.version == 6 and len(set(ip.packed)) >= 8:
                variants.append(ip.packed)
            found[f"ip {ip}"] = variants
        for marker in self.markers:
            found[f"user agent ({marker})"] = [marker.encode()]
        for value in self.cookie_values:
            if len(value) < 16 or len(set(value)) < 8:  # not distinctive enough to mean it
                continue
            if any(value in page for page in self.pages):  # sent as a page's path too
                continue
            found[f"cookie {value[:12]!r}"] = [_encodable(value)]
        return found


# --- well-formed visits ------------------------------------------------------------------


def _fitting(method: str, name: str, body: bytes = b"", kind: str | None = None) -> Request:
    """A request as the banner, the privacy center or the dashboard sends it."""
    return Request(
        method=method,
        path=f"{PREFIX}/{name}",
        headers=[
            (b"user-agent", USER_AGENTS[1].encode() + b" (fz000000000000)"),
            (b"origin", f"http://{HOST}".encode()),
        ],
        cookie=CookieSpec("genuine"),
        body=body,
        content_type=kind,
        bearer=TOKEN,
    )


def _as_json(value: Any) -> tuple[bytes, str]:
    return json.dumps(value).encode(), JSON


# Run before the generated visits, so that every endpoint answers yes at least once
# whatever the draws are: the check of that at the end then says the endpoints still work
# for their own clients, not how lucky the draws were.
WELL_FORMED = [
    Visit(
        address="203.0.113.7",
        opening="custom",
        requests=[
            _fitting("GET", "state"),
            _fitting("POST", "consent", *_as_json({"action": "accept_all"})),
            _fitting("GET", "me"),
            _fitting("GET", "me/export"),
            _fitting("GET", "cookies"),
            _fitting("GET", "banner.js"),
            _fitting("GET", "banner.css"),
            _fitting("POST", "event", *_as_json({"pageview": "/items/1"})),
            _fitting("POST", "me/erase", b"", FORM),
        ],
        marker="fz000000000000",
    ),
    Visit(
        address="198.51.100.7",
        opening="login",
        requests=[
            _fitting("POST", "dashboard/login", _form([("token", TOKEN)]), FORM),
            _fitting("GET", "dashboard"),
            _fitting("GET", "dashboard/dashboard.js"),
            _fitting("GET", "api/cookies"),
            _fitting("POST", "api/query", *_as_json({"metrics": ["visitors"], "date_range": "7d"})),
            _fitting("POST", "dashboard/logout"),
        ],
        marker="fz000000000000",
    ),
]
