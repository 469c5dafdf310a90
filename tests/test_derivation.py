"""Country, device, browser and OS derived from each request, and nothing else kept."""

from __future__ import annotations

import ipaddress
import random
import shutil

import itsdangerous
import pytest
from support import UA, visit

from consentkit import ConfigurationError, ConsentMiddleware, open_store
from consentkit.visit.client_ip import ClientAddress

pytestmark = pytest.mark.anyio

BY_COUNTRY = {
    "metrics": ["pageviews"],
    "dimensions": ["visit:country"],
    "date_range": "day",
    "order_by": [["visit:country", "asc"]],
}


async def page_views_from(app, store_url, requests):
    """Grant analytics, then GET / once per (client address, headers) pair."""
    async with visit(app) as browser:
        await browser.post("/consentkit/consent", json={"action": "accept_all"})
        cookies = dict(browser.cookies)
    for client, headers in requests:
        async with visit(app, client=(client, 4000)) as browser:
            for name, value in cookies.items():
                browser.cookies.set(name, value, domain="testserver.local")
            assert (await browser.get("/", headers=headers)).status_code == 200
    rows = open_store(store_url).query(BY_COUNTRY)["results"]
    return {r["dimensions"][0]: r["metrics"][0] for r in rows}


async def test_country_from_a_geoip_database_built_for_the_test(make_site, store_url, country_db):
    app = make_site(geoip_database=country_db)
    counts = await page_views_from(
        app,
        store_url,
        [
            ("203.0.113.9", {}),
            ("203.0.113.77", {}),
            ("198.51.100.1", {}),
            ("2001:db8::5", {}),
            ("10.1.2.3", {}),
        ],
    )
    assert counts == {"DE": 2, "FR": 1, "JP": 1, "ZZ": 1}


async def test_country_from_maxminds_own_test_database(make_site, store_url, maxmind_dir):
    app = make_site(geoip_database=maxmind_dir / "GeoLite2-Country-Test.mmdb")
    counts = await page_views_from(
        app,
        store_url,
        [
            ("81.2.69.142", {}),
            ("216.160.83.56", {}),
            ("89.160.20.112", {}),
            ("2001:218::1", {}),
        ],
    )
    assert counts == {"GB": 1, "US": 1, "SE": 1, "JP": 1}


async def test_forwarded_for_is_believed_only_from_a_trusted_proxy(
    make_site, store_url, country_db
):
    app = make_site(geoip_database=country_db, trusted_proxies=["10.0.0.0/8"])
    counts = await page_views_from(
        app,
        store_url,
        [
            ("10.0.0.2", {"X-Forwarded-For": "203.0.113.5"}),  # trusted: DE
            ("10.0.0.2", {"X-Forwarded-For": "198.51.100.3, 10.0.0.9"}),  # skips proxies: FR
            ("198.51.100.8", {"X-Forwarded-For": "203.0.113.5"}),  # untrusted peer: its own FR
            ("10.0.0.2", {"X-Forwarded-For": "not-an-ip"}),  # hostile: unknown
            ("10.0.0.2", {"X-Forwarded-For": "1.1.1.1, " * 2000}),  # oversized: unknown
        ],
    )
    assert counts == {"DE": 1, "FR": 2, "ZZ": 2}


async def test_a_cdn_country_header_from_a_trusted_proxy(make_site, store_url):
    app = make_site(country_header="CF-IPCountry", trusted_proxies=["10.0.0.0/8"])
    counts = await page_views_from(
        app,
        store_url,
        [
            ("10.0.0.2", {"CF-IPCountry": "de"}),
            ("10.0.0.2", {"CF-IPCountry": "XX"}),  # Cloudflare's "unknown"
            ("10.0.0.2", {"CF-IPCountry": "<script>"}),
            ("203.0.113.1", {"CF-IPCountry": "FR"}),  # not from the proxy: ignored
        ],
    )
    assert counts == {"DE": 1, "ZZ": 3}


def test_a_country_header_needs_trusted_proxies(store_url):
    with pytest.raises(ConfigurationError, match="trusted_proxies"):
        ConsentMiddleware(None, secret_key="s" * 32, store=store_url, country_header="cf-ipcountry")


def test_unreadable_or_corrupt_geoip_databases_fail_at_start_up(
    tmp_path, store_url, country_db, maxmind_dir
):
    broken = maxmind_dir / "MaxMind-DB-test-broken-search-tree-24.mmdb"
    truncated = tmp_path / "truncated.mmdb"
    truncated.write_bytes(country_db.read_bytes()[:200])
    not_a_db = tmp_path / "notes.txt"
    not_a_db.write_text("hello")
    copied = tmp_path / "copy.mmdb"
    shutil.copy(country_db, copied)
    for path in (tmp_path / "missing.mmdb", truncated, not_a_db, broken):
        with pytest.raises(ConfigurationError, match="geoip_database"):
            ConsentMiddleware(None, secret_key="s" * 32, store=store_url, geoip_database=path)
    ConsentMiddleware(None, secret_key="s" * 32, store=store_url, geoip_database=copied)


@pytest.mark.parametrize(
    ("agent", "device", "browser", "os"),
    [
        ("iphone", "mobile", "Mobile Safari", "iOS"),
        ("ipad", "tablet", "Mobile Safari", "iOS"),
        ("windows_chrome", "desktop", "Chrome", "Windows"),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.6099.43 Mobile Safari/537.36",
            "mobile",
            "Chrome Mobile",
            "Android",
        ),
        (
            "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/119.0.0.0 Safari/537.36",
            "tablet",
            "Chrome",
            "Android",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
            "Gecko) Version/17.1 Safari/605.1.15",
            "desktop",
            "Safari",
            "Mac OS X",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
            "desktop",
            "Firefox",
            "Linux",
        ),
        ("", "other", "Other", "Other"),
    ],
)
async def test_device_browser_and_os_reach_the_cube(
    make_site, store_url, agent, device, browser, os
):
    user_agent = UA.get(agent, agent)
    app = make_site(flush_interval=3600)
    async with visit(app) as client:
        client.headers["user-agent"] = user_agent
        await client.post("/consentkit/consent", json={"action": "accept_all"})
        await client.get("/")
    rows = open_store(store_url).query(
        {
            "metrics": ["pageviews"],
            "dimensions": ["visit:device", "visit:browser", "visit:os"],
            "date_range": "day",
        }
    )["results"]
    assert rows == [{"dimensions": [device, browser, os], "metrics": [1]}]


async def test_a_returning_visitor_is_derived_anew_when_address_or_browser_changes(
    make_site, store_url, country_db
):
    """What a returning visitor's headers tell is worked out once and remembered (the
    request path's cache), keyed by everything it depends on: a new address or a new
    browser is looked up again, a known one is not mistaken for another."""
    app = make_site(geoip_database=country_db)
    iphone = {"User-Agent": UA["iphone"]}
    counts = await page_views_from(
        app,
        store_url,
        [
            ("203.0.113.9", {}),
            ("198.51.100.1", {}),
            ("203.0.113.9", {}),  # the first again: remembered, still DE
            ("198.51.100.1", iphone),  # same address, another browser
        ],
    )
    assert counts == {"DE": 2, "FR": 2}
    store = open_store(store_url)
    devices = store.query({"metrics": ["pageviews"], "dimensions": ["visit:device"],
                           "date_range": "day"})["results"]  # fmt: skip
    assert {r["dimensions"][0]: r["metrics"][0] for r in devices} == {"other": 3, "mobile": 1}


def test_what_is_remembered_of_visitors_is_bounded():
    from consentkit.consent.cookies import DecisionCodec
    from consentkit.visit.request import VisitReader

    codec = DecisionCodec(
        itsdangerous.TimestampSigner("k" * 32), policy_version="1", max_age=60,
        categories=frozenset({"analytics"}), clock=lambda: 0.0,
    )  # fmt: skip
    reader = VisitReader(codec, None, remembered=8)
    for n in range(100):
        scope = {"type": "http", "headers": [(b"user-agent", f"agent {n}".encode())],
                 "client": (f"192.0.2.{n}", 1), "path": "/"}  # fmt: skip
        assert reader.read(scope).header(b"user-agent") == f"agent {n}"
    assert len(reader) == 8
    # A bigger cache forgets its oldest sixteenth at once: never more than it may hold,
    # and the latest visitors are still remembered, the same entries.
    reader = VisitReader(codec, None, remembered=64)
    scopes = [{"type": "http", "headers": [(b"user-agent", f"agent {n}".encode())],
               "client": (f"192.0.2.{n % 250}", n), "path": "/"} for n in range(1000)]  # fmt: skip
    known = [reader.known_of(scope) for scope in scopes]
    assert 60 <= len(reader) <= 64
    latest = zip(scopes[-50:], known[-50:], strict=True)
    assert all(reader.known_of(scope) is found for scope, found in latest)


def test_trusted_proxies_are_told_as_the_ipaddress_module_tells_them() -> None:
    """The C parser's answer (inet_pton, for speed) is ipaddress's on every form: plain,
    mapped, zoned, with leading zeros, padded, malformed."""
    networks = ["127.0.0.0/8", "10.0.0.0/8", "203.0.113.7", "2001:db8::/32", "::1", "::ffff:0:0/96"]
    client = ClientAddress(networks)
    parsed = [ipaddress.ip_network(n, strict=False) for n in networks]

    def expected(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in parsed)

    rng = random.Random(5)
    forms = ["127.0.0.1", "10.1.2.3", "203.0.113.7", "203.0.113.8", "2001:db8::1",
             "2001:db9::1", "::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "01.2.3.4", "1.2.3",
             "1.2.3.4.5", "fe80::1%eth0", "", "abc", "::", "255.255.255.255", "1.2.3.04",
             "[::1]", " 10.0.0.1", "10.0.0.1 ", "1::2::3", "0x7f.0.0.1", "127.1"]  # fmt: skip
    forms += [".".join(str(rng.randint(0, 300)) for _ in range(4)) for _ in range(2000)]
    forms += [str(ipaddress.IPv6Address(rng.getrandbits(128))) for _ in range(1000)]
    forms += [f"2001:db8::{rng.getrandbits(16):x}" for _ in range(1000)]
    wrong = [a for a in forms if client.is_trusted(a) != expected(a)]
    assert not wrong, wrong[:5]
    assert client.is_trusted("10.9.9.9") and not client.is_trusted("11.0.0.1")


@pytest.mark.parametrize("name", ["X-Ctry", "X-Cntry", "X-Country2", "X-Visitor-Where"])
async def test_a_country_header_named_as_long_as_a_header_the_request_path_reads(
    make_site, store_url, name
):
    """The request path tells the headers it reads by their length first (Cookie: 6,
    Sec-GPC: 7, User-Agent: 10, X-Forwarded-For: 15): a country header of the same length
    is still read, and a returning visitor's country still follows it."""
    app = make_site(country_header=name, trusted_proxies=["10.0.0.0/8"])
    counts = await page_views_from(
        app,
        store_url,
        [("10.0.0.2", {name: "de"}), ("10.0.0.2", {name: "fr"}), ("10.0.0.2", {name: "FR"})],
    )
    assert counts == {"DE": 1, "FR": 2}


def test_a_cookie_header_sent_in_two_parts_is_read_whole_and_keyed_whole(store_url):
    """HTTP/2 may split the Cookie header: both parts are read, and a visitor whose second
    part differs is another visitor."""
    middleware = ConsentMiddleware(None, secret_key="s" * 32, store=store_url)

    def scope(*cookies: bytes) -> dict[str, object]:
        headers = [(b"user-agent", UA["iphone"].encode()), *((b"cookie", c) for c in cookies)]
        return {"type": "http", "headers": headers, "client": ("203.0.113.9", 1)}

    for parts in ((b"a=1", b"consentkit_id=%s"), (b"consentkit_id=%s", b"a=1")):
        first = middleware.reader.known_of(scope(*(p.replace(b"%s", b"A" * 22) for p in parts)))
        assert first.id_cookie == "A" * 22
        again = middleware.reader.known_of(scope(*(p.replace(b"%s", b"A" * 22) for p in parts)))
        other = middleware.reader.known_of(scope(*(p.replace(b"%s", b"B" * 22) for p in parts)))
        assert again is first
        assert other is not first
        assert other.id_cookie == "B" * 22


def test_the_same_cookies_from_another_browser_or_address_are_read_anew(store_url):
    """A returning visitor's entry is found by the Cookie header, and the rest (address,
    browser, forwarded address) is compared: the same cookies sent with another user agent
    or from another address never get the first one's traits."""
    middleware = ConsentMiddleware(None, secret_key="s" * 32, store=store_url)
    reader = middleware.reader
    cookie = b"consentkit_id=" + b"A" * 22

    def known(agent: str, address: str, cookies: bytes | None = cookie):
        headers = [(b"user-agent", UA[agent].encode())]
        if cookies is not None:
            headers.append((b"cookie", cookies))
        return reader.known_of({"type": "http", "headers": headers, "client": (address, 1)})

    first = known("iphone", "203.0.113.9")
    assert known("iphone", "203.0.113.9") is first
    chrome = "windows_chrome"
    for agent, address in [(chrome, "203.0.113.9"), ("iphone", "198.51.100.1"),
                           ("iphone", "203.0.113.9"), (chrome, "198.51.100.1")]:  # fmt: skip
        found = known(agent, address)
        assert found.headers[b"user-agent"] == UA[agent]
        assert found.peer == address
        assert found.id_cookie == "A" * 22
        assert known(agent, address) is found
    assert len(reader) == 1  # one entry per Cookie header: the latest browser and address
    # Without cookies, each address and browser is an entry of its own.
    assert known("iphone", "192.0.2.1", None) is not known("ipad", "192.0.2.1", None)
    assert len(reader) == 3
