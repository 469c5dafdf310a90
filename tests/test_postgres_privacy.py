"""Privacy on PostgreSQL: after real traffic, no value in any table identifies anyone."""

from __future__ import annotations

import pytest
from support import decompressed_cube, visit
from test_privacy import AGENTS, CLIENTS, assert_something_was_stored, forbidden_needles

pytestmark = pytest.mark.anyio


def dump_schema(url: str) -> bytes:
    """Every row of every table in the store's schema, as text (bytea as hex) and every
    bytea value raw as well, so a packed IP address inside a sketch would show too."""
    import psycopg

    dump = []
    with psycopg.connect(url) as db:
        tables = [
            name
            for (name,) in db.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            )
        ]
        assert {
            "ck_values",
            "ck_blocks",
            "ck_rollups",
            "ck_decisions",
            "ck_consent_stats",
        } <= set(tables)
        for table in tables:
            with db.cursor().copy(f"COPY {table} TO STDOUT") as copy:
                dump += [bytes(block) for block in copy]
            for row in db.execute(f"SELECT * FROM {table}", binary=True):
                dump += [value for value in row if isinstance(value, bytes)]
    return b"\n".join(dump)


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
async def test_no_ip_user_agent_or_cookie_value_is_stored_in_postgres(
    make_site, store_url, country_db, tmp_path
):
    app = make_site(geoip_database=country_db, trusted_proxies=["10.0.0.0/8"], count_refused=True)
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
    import psycopg

    assert_something_was_stored(store_url)
    with psycopg.connect(store_url) as db:
        assert db.execute("SELECT COUNT(*) FROM ck_decisions").fetchone() == (4,)
    # the tables (the cube decompressed too), and the local spool that would hold decisions
    # while the database is away
    blob = (
        dump_schema(store_url)
        + decompressed_cube(store_url)
        + (tmp_path / "spool.sqlite3").read_bytes()
    )
    needles = forbidden_needles(
        [*CLIENTS, "10.0.0.1"], AGENTS, [v for v in cookie_values if len(v) >= 16]
    )
    for label, variants in needles.items():
        for needle in variants:
            assert needle not in blob, f"{label} found in the database"
    assert b"someone@example.com" not in blob  # query strings are never kept
