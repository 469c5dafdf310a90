"""PostgreSQL goes away in the middle of a load: the site keeps serving, nothing is lost.

The connection is cut by a proxy between the app and the real server (tests/tcp_proxy.py),
as a crashed server or a broken network would cut it; the server itself keeps running for
the other tests.
"""

from __future__ import annotations

import sqlite3
import time

import anyio
import httpx
import numpy as np
import pytest
from asgi_lifespan import LifespanManager
from support import SECRET, postgres_schema
from tcp_proxy import TcpProxy

from consentkit import open_store
from consentkit.analytics.hll import register_and_rank, visitor_hash
from consentkit.consent.keys import SiteKeys

pytestmark = pytest.mark.anyio

VISITORS = 24
PAGES = ["/", "/items/1", "/items/2"]
BASE = "http://testserver"


@pytest.fixture
def proxied(postgres_admin):
    """(URL through a cuttable proxy, direct URL, proxy) for one fresh schema."""
    proxy = TcpProxy(("127.0.0.1", 5432))
    with postgres_schema(postgres_admin) as direct:
        assert "@127.0.0.1:5432/" in direct
        yield direct.replace(":5432/", f":{proxy.port}/"), direct, proxy
    proxy.close()


async def test_every_acknowledged_decision_and_page_view_arrives_after_an_outage(
    make_site, proxied, tmp_path
):
    url, direct, proxy = proxied
    spool = tmp_path / "spool.sqlite3"
    app = make_site(store=url + "&pool_timeout=1", decision_spool=str(spool), flush_interval=0.05)
    views, ids = 0, []
    # a server waits for the shutdown flush (uvicorn: as long as it takes)
    async with LifespanManager(app, shutdown_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        for visitor in range(VISITORS):
            if visitor == VISITORS // 3:
                proxy.cut()  # the database is gone, in the middle of the load
            if visitor == 2 * VISITORS // 3:
                assert spool.exists()
                proxy.restore()
            async with httpx.AsyncClient(transport=transport, base_url=BASE) as browser:
                answer = await browser.post("/consentkit/consent", json={"action": "accept_all"})
                assert answer.status_code == 200, answer.text  # acknowledged, outage or not
                assert "consentkit_id" in browser.cookies
                ids.append(browser.cookies["consentkit_id"])
                for path in PAGES:
                    assert (await browser.get(path)).status_code == 200  # still serving
                    views += 1
    # the lifespan shutdown flushed the buffer and drained the spool
    store = open_store(direct)
    total = store.query({"metrics": ["visitors", "pageviews"], "date_range": "day"})
    # (visitors are estimated from a sketch of 32,768 registers: two of the 24 may share
    # one, about one time in 120, and then count as one)
    key = SiteKeys([SECRET], time.time).visitor_key()
    hashes = np.array([visitor_hash(key, visitor) for visitor in ids], dtype=np.uint64)
    registers = set(register_and_rank(hashes)[0].tolist())
    assert len(set(ids)) == VISITORS
    assert total["results"][0]["metrics"] == [len(registers), views]
    decisions = store.query({"metrics": ["decisions"], "date_range": "day"})
    assert decisions["results"][0]["metrics"] == [VISITORS]
    report = store.verify_ledger()
    assert report.ok and report.records == VISITORS, report.problems
    store.close()


async def test_a_query_while_the_database_is_away_is_a_503_that_describes_nothing(
    make_site, proxied, caplog
):
    url, _, proxy = proxied
    token = "admin-token-for-tests-0123456789"
    app = make_site(store=url + "&pool_timeout=1", admin_token=token)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as admin:
            proxy.cut()
            answer = await admin.post(
                "/consentkit/api/query",
                json={"metrics": ["visitors"], "date_range": "day"},
                headers={"Authorization": f"Bearer {token}"},
            )
            proxy.restore()
    assert answer.status_code == 503
    schema = url.rsplit("application_name=", 1)[1]
    for detail in ("postgres", "127.0.0.1", str(proxy.port), "test", schema):
        assert detail not in answer.text, detail  # not the user, host, database or schema
    assert any(schema in record.getMessage() for record in caplog.records)  # the operator's


@pytest.mark.parametrize("outage", ["cut", "blackhole"])
async def test_a_decision_waits_about_a_second_for_a_dead_database_then_the_spool_takes_it(
    make_site, proxied, tmp_path, outage
):
    url, direct, proxy = proxied
    spool = tmp_path / "spool.sqlite3"
    app = make_site(store=url, decision_spool=str(spool))  # the store's default timeouts
    async with LifespanManager(app, shutdown_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as browser:
            await browser.post("/consentkit/consent", json={"action": "reject_all"})
            getattr(proxy, outage)()  # stopped, or gone from the network
            started = time.monotonic()
            answer = await browser.post("/consentkit/consent", json={"action": "accept_all"})
            waited = time.monotonic() - started
            assert answer.status_code == 200 and "consentkit_id" in browser.cookies
            assert waiting(spool) == 1
            proxy.restore()
            for _ in range(150):  # the spool drains itself once the database is back
                if not waiting(spool):
                    break
                await anyio.sleep(0.2)
            assert waiting(spool) == 0
    # generous for a loaded machine, and far below libpq's and the pool's 5 s
    assert waited < 2.5, f"the visitor waited {waited:.2f} s"
    store = open_store(direct)
    assert store.verify_ledger().records == 2
    store.close()


def waiting(spool) -> int:
    with sqlite3.connect(spool) as db:
        return int(db.execute("SELECT COUNT(*) FROM waiting").fetchone()[0])
