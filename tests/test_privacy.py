"""Privacy is the product: after real traffic, no byte of the database identifies anyone."""

from __future__ import annotations

import ipaddress
import sqlite3
from pathlib import Path

import pytest
from support import decompressed_cube, visit

from consentkit import open_store

pytestmark = pytest.mark.anyio

AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/121.0.6167.85 Safari/537.36 PrivacyProbe/7.3",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8 Pro) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.144 Mobile Safari/537.36",
]
CLIENTS = ["203.0.113.45", "198.51.100.77", "2001:db8::beef", "192.0.2.201"]


def assert_something_was_stored(store_url):
    """The traffic's page views are in the store: the scan that follows means something."""
    store = open_store(store_url)
    rows = list(store.export("pageviews"))
    store.close()
    assert sum(row["pageviews"] for row in rows) == 12  # 9 with visitors, 3 anonymous
    assert {row["country"] for row in rows} == {"DE", "FR", "JP", "NL"}


def forbidden_needles(addresses, agents, cookie_values):
    needles = {}
    for address in addresses:
        ip = ipaddress.ip_address(address)
        needles[f"ip {address}"] = [address.encode(), ip.packed, ip.exploded.encode()]
    for agent in agents:
        # the whole string, and its most telling fragments
        needles[f"ua {agent[:30]}"] = [agent.encode(), b"PrivacyProbe", b"Pixel 8 Pro"]
    for value in cookie_values:
        needles[f"cookie {value[:8]}"] = [value.encode()]
    return needles


async def test_no_ip_user_agent_or_cookie_value_is_ever_stored(
    make_site, store_url, country_db, tmp_path
):
    app = make_site(
        geoip_database=country_db,
        trusted_proxies=["10.0.0.0/8"],
        flush_interval=0.05,
        count_refused=True,
    )
    cookie_values = []
    for index, address in enumerate(CLIENTS):
        agent = AGENTS[index % len(AGENTS)]
        async with visit(app, client=("10.0.0.1", 1000 + index)) as browser:
            browser.headers.update({"user-agent": agent, "x-forwarded-for": address})
            action = "reject_all" if index == 3 else "accept_all"
            await browser.post("/consentkit/consent", json={"action": action})
            for path in ("/", "/items/1", "/items/2?email=someone@example.com"):
                await browser.get(path)
            cookie_values += [v for v in browser.cookies.values()]
            for value in list(cookie_values):
                cookie_values += value.split("|")  # the decision id inside the cookie
    db_path = Path(store_url.removeprefix("sqlite:///"))
    assert_something_was_stored(store_url)
    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT COUNT(*) FROM ck_decisions").fetchone()[0] == 4
    files = [p for p in tmp_path.iterdir() if p.name.startswith(db_path.name)]
    assert {p.name for p in files} >= {db_path.name, db_path.name + "-wal"}
    blob = b"".join(p.read_bytes() for p in files) + decompressed_cube(store_url)
    needles = forbidden_needles(
        [*CLIENTS, "10.0.0.1"], AGENTS, [v for v in cookie_values if len(v) >= 16]
    )
    for label, variants in needles.items():
        for needle in variants:
            assert needle not in blob, f"{label} found in the database files"
    assert b"someone@example.com" not in blob  # query strings are never kept
