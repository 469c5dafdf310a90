"""The visitor's rights through the real ASGI stack: see, export (CSV, JSON), erase."""

from __future__ import annotations

import csv
import io

import pytest
from support import SECRET, put_cookie, set_cookies, visit

from consentkit import open_store

pytestmark = pytest.mark.anyio

EVIL = {"origin": "https://evil.example"}


async def decide_twice(browser) -> str:
    await browser.post("/consentkit/consent", json={"action": "accept_all"})
    await browser.get("/sets-cookies")
    await browser.post(
        "/consentkit/consent", json={"action": "custom", "categories": ["marketing"]}
    )
    return browser.cookies["consentkit"]


async def test_a_visitor_sees_their_own_records_and_nobody_elses(make_site):
    app = make_site()
    async with visit(app) as other:
        await other.post("/consentkit/consent", json={"action": "reject_all"})
    async with visit(app) as browser:
        nothing = (await browser.get("/consentkit/me")).json()
        assert nothing["identified"] is False and nothing["records"] == []
        await decide_twice(browser)
        answer = await browser.get("/consentkit/me")
        assert answer.headers["cache-control"] == "no-store"
        records = answer.json()["records"]
    assert [(r["action"], r["categories"]) for r in records] == [
        ("accept_all", ["analytics", "marketing", "necessary"]),
        ("withdraw", ["marketing", "necessary"]),
    ]
    first = records[0]
    assert first["policy_version"] == "2026-11" and first["language"] == "en"
    assert first["decided_at"].endswith("Z")
    # what the visitor was shown: the banner configuration, texts included
    assert [c["name"] for c in first["banner"]["categories"]] == [
        "necessary",
        "analytics",
        "marketing",
    ]
    assert "subject" not in first


async def test_records_download_as_csv_and_json(make_site):
    async with visit(make_site()) as browser:
        await decide_twice(browser)
        as_csv = await browser.get("/consentkit/me/export", params={"format": "csv"})
        as_json = await browser.get("/consentkit/me/export", params={"format": "json"})
        default = await browser.get("/consentkit/me/export")
        bad = await browser.get("/consentkit/me/export", params={"format": "xml"})
    assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert as_csv.headers["content-disposition"] == 'attachment; filename="consent-records.csv"'
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [(r["action"], r["categories"]) for r in rows] == [
        ("accept_all", "analytics marketing necessary"),
        ("withdraw", "marketing necessary"),
    ]
    assert rows[0]["policy_version"] == "2026-11" and len(rows[0]["config_hash"]) == 64
    assert default.text == as_csv.text
    records = as_json.json()["records"]
    assert [r["decided_at"] for r in records] == [r["decided_at"] for r in rows]
    assert bad.status_code == 400 and bad.json()["field"] == "format"


async def test_erasure_removes_the_records_expires_the_cookies_and_keeps_the_ledger_valid(
    make_site, store_url
):
    app = make_site()
    async with visit(app) as other:
        await other.post("/consentkit/consent", json={"action": "accept_all"})
    async with visit(app) as browser:
        old_cookie = await decide_twice(browser)
        subject = subject_of(old_cookie).encode()
        assert subject in database_bytes(store_url)  # the check below can see it
        refused = await browser.post("/consentkit/me/erase", headers=EVIL)
        assert refused.status_code == 403
        assert len((await browser.get("/consentkit/me")).json()["records"]) == 2
        assert (await browser.get("/consentkit/me/erase")).status_code == 405
        answer = await browser.post("/consentkit/me/erase")
        assert answer.status_code == 200 and answer.json() == {"erased": 2}
        expired = {n for n, v in set_cookies(answer).items() if "Max-Age=0" in v}
        assert {"consentkit", "consentkit_id", "_fbp"} <= expired
        assert "consentkit" not in browser.cookies
        put_cookie(browser, "consentkit", old_cookie)  # the old cookie finds nothing now
        assert (await browser.get("/consentkit/me")).json()["records"] == []
    store = open_store(store_url)
    report = store.verify_ledger()
    assert report.ok and report.records == 3 and report.erased == 2, report.problems
    assert subject_of(old_cookie).encode() not in database_bytes(store_url)


def subject_of(cookie: str) -> str:
    """The ledger's name for the visitor holding this decision cookie."""
    import time

    from consentkit.consent.cookies import DecisionCodec
    from consentkit.consent.keys import SiteKeys
    from consentkit.ledger.chain import SubjectHasher

    keys = SiteKeys([SECRET], time.time)
    codec = DecisionCodec(
        keys.decision_signer(),
        policy_version="2026-11",
        max_age=3600,
        categories=frozenset({"analytics", "marketing"}),
        clock=time.time,
    )
    decision_id = codec.decision_id(cookie)
    assert decision_id is not None
    return SubjectHasher(keys.ledger_keys())(decision_id)


def database_bytes(store_url: str) -> bytes:
    from pathlib import Path

    path = Path(store_url.removeprefix("sqlite:///"))
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


async def test_records_stay_reachable_after_a_policy_change(make_site):
    async with visit(make_site(policy_version="2026-10")) as browser:
        await browser.post("/consentkit/consent", json={"action": "accept_all"})
        cookie = browser.cookies["consentkit"]
    async with visit(make_site(policy_version="2026-12")) as browser:
        put_cookie(browser, "consentkit", cookie)
        echo = await browser.get("/consent-echo")
        assert echo.json()["decided"] is False  # asked again
        assert "consentkit" not in set_cookies(echo)  # but the genuine cookie is kept
        records = (await browser.get("/consentkit/me")).json()["records"]
        assert [r["policy_version"] for r in records] == ["2026-10"]
        # deciding again under the new policy: the same visitor, both versions in the ledger
        await browser.post("/consentkit/consent", json={"action": "reject_all"})
        records = (await browser.get("/consentkit/me")).json()["records"]
        assert [(r["policy_version"], r["action"]) for r in records] == [
            ("2026-10", "accept_all"),
            ("2026-12", "reject_all"),
        ]


async def test_a_forged_cookie_identifies_no_one_and_erases_nothing(make_site):
    app = make_site()
    async with visit(app) as browser:
        await browser.post("/consentkit/consent", json={"action": "accept_all"})
        genuine = browser.cookies["consentkit"]
        put_cookie(browser, "consentkit", genuine[:-3] + "AAA")
        assert (await browser.get("/consentkit/me")).json()["identified"] is False
        assert (await browser.post("/consentkit/me/erase")).json() == {"erased": 0}
        put_cookie(browser, "consentkit", genuine)
        assert len((await browser.get("/consentkit/me")).json()["records"]) == 1
        assert (await browser.post("/consentkit/me")).status_code == 405


async def test_when_the_ledger_cannot_be_changed_erasure_fails_and_changes_nothing(
    make_site, store_url
):
    import sqlite3

    async with visit(make_site()) as browser:
        await browser.post("/consentkit/consent", json={"action": "accept_all"})
        with sqlite3.connect(store_url.removeprefix("sqlite:///")) as db:
            db.execute("ALTER TABLE ck_decisions RENAME TO ck_decisions_away")
        answer = await browser.post("/consentkit/me/erase")
        assert answer.status_code == 503 and "nothing was changed" in answer.json()["error"]
        assert "set-cookie" not in answer.headers
        with sqlite3.connect(store_url.removeprefix("sqlite:///")) as db:
            db.execute("ALTER TABLE ck_decisions_away RENAME TO ck_decisions")
        assert len((await browser.get("/consentkit/me")).json()["records"]) == 1


async def test_records_written_before_a_key_rotation_stay_the_visitors(make_site):
    async with visit(make_site(secret_key=SECRET)) as browser:
        await browser.post("/consentkit/consent", json={"action": "accept_all"})
        cookie = browser.cookies["consentkit"]
    rotated = make_site(secret_key=[SECRET, "a-newer-secret-of-at-least-32-chars"])
    async with visit(rotated) as browser:
        put_cookie(browser, "consentkit", cookie)
        await browser.post("/consentkit/consent", json={"action": "reject_all"})
        records = (await browser.get("/consentkit/me")).json()["records"]
        assert [r["action"] for r in records] == ["accept_all", "withdraw"]
        assert (await browser.post("/consentkit/me/erase")).json() == {"erased": 2}
