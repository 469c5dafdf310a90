"""A consent decision is never lost: while the store is away, the ledger record waits in a
durable local spool and the visitor's choice takes effect at once."""

from __future__ import annotations

import sqlite3

import pytest
from conftest import visit

pytestmark = pytest.mark.anyio


def ledger_actions(store_url: str) -> list[str]:
    with sqlite3.connect(store_url.removeprefix("sqlite:///")) as db:
        return [a for (a,) in db.execute("SELECT action FROM ck_decisions ORDER BY id")]


def move_ledger(store_url: str, away: bool) -> None:
    names = ("ck_decisions", "ck_decisions_away")
    old, new = names if away else names[::-1]
    with sqlite3.connect(store_url.removeprefix("sqlite:///")) as db:
        db.execute(f"ALTER TABLE {old} RENAME TO {new}")


def waiting(spool: str) -> int:
    with sqlite3.connect(spool) as db:
        return db.execute("SELECT COUNT(*) FROM waiting").fetchone()[0]


async def test_decisions_take_effect_while_the_store_is_away_and_arrive_in_order(
    make_site, store_url, tmp_path
):
    spool = str(tmp_path / "spool.sqlite3")
    app = make_site(decision_spool=spool)
    async with visit(app) as browser:
        await browser.post("/consentkit/consent", json={"action": "reject_all"})
        move_ledger(store_url, away=True)
        answer = await browser.post("/consentkit/consent", json={"action": "accept_all"})
        assert answer.status_code == 200 and "consentkit_id" in browser.cookies
        assert (await browser.get("/consent-echo")).json()["categories"] == [
            "analytics", "marketing", "necessary"]
        await browser.post("/consentkit/consent", json={"action": "custom",
                                                         "categories": ["marketing"]})
        assert waiting(spool) == 2  # on disk before the visitor was answered
        move_ledger(store_url, away=False)
        # later decisions queue behind the waiting ones, so the ledger keeps their order
        await browser.post("/consentkit/consent", json={"action": "reject_all"})
    # the lifespan shutdown drains the spool
    assert waiting(spool) == 0
    assert ledger_actions(store_url) == ["reject_all", "accept_all", "withdraw", "withdraw"]


async def test_the_spool_outlives_a_restart_while_the_store_is_still_away(
    make_site, store_url, tmp_path
):
    spool = str(tmp_path / "spool.sqlite3")
    async with visit(make_site(decision_spool=spool)) as browser:
        await browser.post("/consentkit/consent", json={"action": "reject_all"})
        move_ledger(store_url, away=True)
        await browser.post("/consentkit/consent", json={"action": "accept_all"})
    assert waiting(spool) == 1  # shut down while the store was away: still on disk
    move_ledger(store_url, away=False)
    async with visit(make_site(decision_spool=spool)):
        pass
    assert waiting(spool) == 0
    assert ledger_actions(store_url) == ["reject_all", "accept_all"]


async def test_without_a_spool_an_unrecordable_decision_is_refused_and_changes_nothing(
    make_site, store_url
):
    async with visit(make_site()) as browser:  # SQLite: "auto" keeps no spool
        move_ledger(store_url, away=True)
        answer = await browser.post("/consentkit/consent", json={"action": "accept_all"})
        assert answer.status_code == 503 and "consentkit" not in browser.cookies
