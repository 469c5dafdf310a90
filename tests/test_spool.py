"""A consent decision is never lost: while the store is away, the ledger record waits in a
durable local spool and the visitor's choice takes effect at once."""

from __future__ import annotations

import sqlite3

import pytest
from support import visit

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
            "analytics",
            "marketing",
            "necessary",
        ]
        await browser.post(
            "/consentkit/consent", json={"action": "custom", "categories": ["marketing"]}
        )
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


def test_processes_sharing_a_spool_file_drain_each_record_once_and_in_order(store_url, tmp_path):
    """Two workers' spools on one file (what "auto" gives every worker of one machine)."""
    import threading

    from consentkit import open_store
    from consentkit.ledger.chain import config_fingerprint
    from consentkit.ledger.records import ConsentTally, DecisionRecord
    from consentkit.ledger.spool import DecisionSpool

    config, config_hash = config_fingerprint({"banner": "shown"})
    store = open_store(store_url)
    path = str(tmp_path / "shared.sqlite3")
    first, second = DecisionSpool(path, store), DecisionSpool(path, store)
    for n in range(40):
        record = DecisionRecord(
            site="default",
            subject=f"{n:032x}",
            decided_at=1_790_000_000 + n,
            policy_version="1",
            action="accept_all",
            categories=("necessary",),
            language="en",
            config_hash=config_hash,
        )
        tally = ConsentTally(
            hour=497_000,
            country="DE",
            device="desktop",
            browser="Chrome",
            action="accept_all",
            offered=("analytics",),
            granted=(),
        )
        (first if n % 2 else second).put(record, tally, config)
    workers = [threading.Thread(target=spool.drain_once) for spool in (first, second) * 3]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    first.drain_once()
    assert waiting(path) == 0
    with sqlite3.connect(store_url.removeprefix("sqlite:///")) as db:
        times = [t for (t,) in db.execute("SELECT decided_at FROM ck_decisions ORDER BY id")]
    assert times == [1_790_000_000 + n for n in range(40)]  # each once, in order
    assert store.verify_ledger().ok


async def test_a_visitor_sees_and_erases_records_still_waiting_in_the_spool(
    make_site, store_url, tmp_path
):
    spool = str(tmp_path / "spool.sqlite3")
    async with visit(make_site(decision_spool=spool)) as browser:
        await browser.post("/consentkit/consent", json={"action": "reject_all"})
        move_ledger(store_url, away=True)
        await browser.post("/consentkit/consent", json={"action": "accept_all"})
        move_ledger(store_url, away=False)  # back, and the spool not drained yet
        records = (await browser.get("/consentkit/me")).json()["records"]
        assert [(r["action"], r["banner"] is None) for r in records] == [
            ("reject_all", False),
            ("accept_all", True),
        ]
        assert (await browser.post("/consentkit/me/erase")).json() == {"erased": 2}
    assert waiting(spool) == 0  # the waiting record was erased, not drained into the ledger
    with sqlite3.connect(store_url.removeprefix("sqlite:///")) as db:
        assert db.execute("SELECT COUNT(*) FROM ck_decisions WHERE subject <> ''").fetchone() == (
            0,
        )
        assert db.execute("SELECT COUNT(*) FROM ck_decisions").fetchone() == (1,)


def spool_bytes(spool: str) -> bytes:
    """Every byte of the spool on disk: the file, its write-ahead log and its index."""
    from pathlib import Path

    files = [Path(spool + suffix) for suffix in ("", "-wal", "-shm", "-journal")]
    return b"".join(f.read_bytes() for f in files if f.exists())


def waiting_subjects(spool: str) -> list[str]:
    import json

    with sqlite3.connect(spool) as db:
        rows = db.execute("SELECT record FROM waiting").fetchall()
    return [json.loads(entry)["record"]["subject"] for (entry,) in rows]


async def test_a_drained_or_erased_decision_does_not_linger_in_the_spool_files(
    make_site, store_url, tmp_path
):
    spool = str(tmp_path / "spool.sqlite3")
    app = make_site(decision_spool=spool)
    async with visit(app) as browser, visit(app) as eraser:
        await browser.post("/consentkit/consent", json={"action": "reject_all"})
        await eraser.post("/consentkit/consent", json={"action": "reject_all"})
        move_ledger(store_url, away=True)
        await browser.post("/consentkit/consent", json={"action": "accept_all"})
        await eraser.post("/consentkit/consent", json={"action": "accept_all"})
        for action in ("reject_all", "accept_all"):
            await browser.post("/consentkit/consent", json={"action": action})
        kept, erased = waiting_subjects(spool)[0], waiting_subjects(spool)[1]
        assert erased.encode() in spool_bytes(spool)  # the scan can see a waiting record
        move_ledger(store_url, away=False)  # back, and the spool not drained yet
        assert (await eraser.post("/consentkit/me/erase")).json()["erased"] == 2
        # erased while others still wait beside it: gone from every file at once (this
        # needs secure_delete, which some builds of SQLite, Debian's among them, default to)
        assert waiting_subjects(spool) == [kept] * 3
        assert erased.encode() not in spool_bytes(spool)
    # the lifespan shutdown drained the rest into the store
    assert waiting(spool) == 0
    assert len(ledger_actions(store_url)) == 5  # the erased record never went in
    disk = spool_bytes(spool)
    assert kept.encode() not in disk
    for fragment in (b"accept_all", b"config_hash", b'"tally"'):
        assert fragment not in disk
