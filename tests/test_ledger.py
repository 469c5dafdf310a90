"""The consent ledger as proof: a hash chain that shows any edit, and a visitor's rights to
see and erase their records without breaking it."""

from __future__ import annotations

import argparse
import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support import SECRET, Clock, raw_database, visit

from consentkit import open_store
from consentkit.cli.ledger import add_ledger_command
from consentkit.cli.main import main
from consentkit.consent.keys import SiteKeys
from consentkit.errors import StoreError
from consentkit.ledger.chain import (
    GENESIS,
    SubjectHasher,
    categories_from_text,
    chain_hash,
    config_fingerprint,
    decision_record,
    ledger_entry,
    subject_commitment,
)
from consentkit.ledger.records import ConsentTally, DecisionRecord
from consentkit.store.postgres import SPELLING as POSTGRES_SPELLING
from consentkit.store.retention import cutoffs
from consentkit.store.schema import MIGRATIONS

SQLITE_SPELLING = {"blob": "BLOB", "id": "INTEGER PRIMARY KEY AUTOINCREMENT", "without_rowid": ""}

NOW = int(datetime(2026, 11, 24, 13, 5, 9, tzinfo=UTC).timestamp())
BANNERS = {
    language: {
        "language": language,
        "policy_version": "2026-11",
        "categories": ["necessary", "analytics", "marketing"],
        "texts": {"accept_all": accept},
    }
    for language, accept in (("en", "Accept all"), ("de", "Alle akzeptieren"))
}
SUBJECTS = {
    name: SubjectHasher(SiteKeys([SECRET], time.time).ledger_keys())(f"decision-id-{name}")
    for name in "abc"
}
# (visitor, action, granted, banner, seconds after NOW): records 1 to 5, in this order
DECISIONS = [
    ("a", "accept_all", ("analytics", "marketing"), "en", 0),
    ("b", "reject_all", (), "en", 60),
    ("a", "custom", ("analytics",), "de", 120),
    ("c", "accept_all", ("analytics", "marketing"), "en", 180),
    ("b", "custom", ("marketing",), "de", 240),
]


def decide(store, who, action, granted, banner, after, site="default"):
    canonical, config_hash = config_fingerprint(BANNERS[banner])
    at = NOW + after
    record = decision_record(
        site=site,
        subject=SUBJECTS[who],
        decided_at=at,
        policy_version="2026-11",
        action=action,
        granted=frozenset({"necessary", *granted}),
        language=banner,
        config_hash=config_hash,
    )
    tally = ConsentTally(
        hour=at // 3600,
        country="DE",
        device="desktop",
        browser="Chrome",
        action=action,
        offered=("analytics", "marketing"),
        granted=granted,
    )
    store.append_decision(record, tally, canonical)


@pytest.fixture
def ledger(store_url):
    """Five decisions by three visitors, on two banners."""
    store = open_store(store_url, clock=Clock(NOW))
    for decision in DECISIONS:
        decide(store, *decision)
    store.close()
    return store_url


def verify(url, **options):
    store = open_store(url)
    try:
        return store.verify_ledger(**options)
    finally:
        store.close()


def tamper(url, *statements):
    """Change the database as someone with write access (the sqlite3 shell, psql) could."""
    with raw_database(url) as sql:
        for statement in statements:
            sql(statement)


def stored_text(url):
    """What the database holds: every byte of the SQLite file and its WAL (freed pages
    included), or every row of the ledger on PostgreSQL."""
    if url.startswith("sqlite:"):
        path = Path(url.removeprefix("sqlite:///"))
        files = [p for p in path.parent.iterdir() if p.name.startswith(path.name)]
        return b"".join(p.read_bytes() for p in files).decode("latin-1")
    with raw_database(url) as sql:
        return str(sql("SELECT * FROM ck_decisions"))


@pytest.mark.every_store
def test_an_untouched_ledger_verifies_and_its_head_moves_with_each_record(ledger):
    report = verify(ledger)
    assert (report.ok, report.records, report.erased, report.problems) == (True, 5, 0, [])
    store = open_store(ledger, clock=Clock(NOW))
    head = store.ledger_head()
    assert head == report.head != GENESIS
    decide(store, "c", "reject_all", (), "en", 300)
    assert store.ledger_head() != head
    assert store.verify_ledger().records == 6
    store.close()


DE_HASH = config_fingerprint(BANNERS["de"])[1]
EN_HASH = config_fingerprint(BANNERS["en"])[1]
EDITED = "does not match its chain hash: a field was edited after it was written"


def edit(field, value, id_=3):
    """An UPDATE of one field of one record, as a pytest parameter named after the field."""
    return pytest.param(
        [f"UPDATE ck_decisions SET {field} = {value} WHERE id = {id_}"],
        [f"record {id_}: {EDITED}"],
        id=field,
    )


UNKNOWN_HASH = "f" * 64
MOVED = "1 record(s) before it were removed or moved"


@pytest.mark.every_store
@pytest.mark.parametrize(
    ("statements", "problems"),
    [
        edit("action", "'accept_all'"),
        edit("categories", "'analytics marketing necessary'"),
        edit("decided_at", "decided_at - 86400"),
        edit("policy_version", "'2025-01'"),
        edit("language", "'en'"),
        pytest.param(  # the record moves to another site's chain, which has no head
            ["UPDATE ck_decisions SET site = 'other' WHERE id = 3"],
            [
                f"record 4: at position 4 where 3 was expected: {MOVED}",
                "site 'other': its chain head is missing (its row of ck_ledger_heads was deleted)",
                "record 3: at position 3 where 1 was expected: 2 record(s) before it were"
                " removed or moved",
            ],
            id="site",
        ),
        pytest.param(  # into the first chain: its canonical form is not that chain's
            ["UPDATE ck_decisions SET per_site = 0 WHERE id = 5"],
            [
                "record 5: at position 5 where 1 was expected: 4 record(s) before it were"
                " removed or moved",
                "record 5: at position 5, past the chain head (0 records): the head was"
                " edited or records were added around it",
                "record 4: the chain head counts 5 records but the ledger ends at"
                " position 4: the last 1 were removed",
            ],
            id="per_site",
        ),
        edit("config_hash", f"'{EN_HASH}'"),  # another banner that was shown
        pytest.param(
            ["UPDATE ck_decisions SET categories = 'analytics  necessary' WHERE id = 3"],
            [f"record 3: {EDITED}"],
            id="categories-separator",
        ),
        pytest.param(
            [f"UPDATE ck_decisions SET config_hash = '{UNKNOWN_HASH}' WHERE id = 3"],
            [
                f"record 3: {EDITED}",
                f"record 3: its banner configuration {UNKNOWN_HASH} is not stored",
            ],
            id="config_hash-unknown",
        ),
        pytest.param(
            [f"UPDATE ck_decisions SET subject = '{SUBJECTS['b']}' WHERE id = 3"],
            ["record 3: its subject does not match its commitment: the subject or salt was edited"],
            id="subject-reassigned",
        ),
        pytest.param(
            ["DELETE FROM ck_decisions WHERE id = 3"],
            [f"record 4: at position 4 where 3 was expected: {MOVED}"],
            id="middle-deleted",
        ),
        pytest.param(
            ["DELETE FROM ck_decisions WHERE id = 5"],
            [
                "record 4: the chain head counts 5 records but the ledger ends at"
                " position 4: the last 1 were removed"
            ],
            id="last-deleted",
        ),
        pytest.param(
            [
                "UPDATE ck_decisions SET id = -2 WHERE id = 2",
                "UPDATE ck_decisions SET id = 2 WHERE id = 3",
                "UPDATE ck_decisions SET id = 3 WHERE id = -2",
            ],
            [
                f"record 2: at position 3 where 2 was expected: {MOVED}",
                "record 3: at position 2 where 4 was expected: moved",
            ],
            id="swapped",
        ),
        pytest.param(
            [
                f"UPDATE ck_banner_configs SET config = replace(config, 'Alle', 'Keine')"
                f" WHERE config_hash = '{DE_HASH}'"
            ],
            [
                f"record 3: its banner configuration {DE_HASH} was edited (the stored"
                " text no longer has that SHA-256)"
            ],
            id="banner-edited",
        ),
        pytest.param(
            [f"DELETE FROM ck_banner_configs WHERE config_hash = '{DE_HASH}'"],
            [f"record 3: its banner configuration {DE_HASH} is not stored"],
            id="banner-deleted",
        ),
        pytest.param(
            [
                "UPDATE ck_ledger_heads"
                " SET head = (SELECT chain_hash FROM ck_decisions WHERE id = 4)"
            ],
            ["record 5: does not match the chain head (the head or the record was edited)"],
            id="head-edited",
        ),
        pytest.param(
            ["UPDATE ck_ledger_heads SET records = 4"],
            [
                "record 5: at position 5, past the chain head (4 records): the head was"
                " edited or records were added around it"
            ],
            id="head-count-edited",
        ),
        pytest.param(
            ["DELETE FROM ck_ledger_heads"],
            ["site 'default': its chain head is missing (its row of ck_ledger_heads was deleted)"],
            id="head-deleted",
        ),
        pytest.param(
            [f"UPDATE ck_ledger_heads SET base = '{UNKNOWN_HASH}', head = '{UNKNOWN_HASH}'"],
            [
                "site 'default': its chain does not start where the first chain ends (the head"
                " or the first chain was edited)",
                f"record 1: {EDITED}",
                "record 5: does not match the chain head (the head or the record was edited)",
            ],
            id="chain-start-edited",
        ),
        pytest.param(  # the first chain (every site's before version 5) still has a head
            ["DELETE FROM ck_ledger_head"],
            ["ledger: the chain head is missing (ck_ledger_head emptied)"],
            id="first-head-deleted",
        ),
    ],
)
def test_every_kind_of_tampering_is_found_and_names_the_record(ledger, statements, problems):
    tamper(ledger, *statements)
    report = verify(ledger)
    assert report.ok is False
    assert report.problems == problems


@pytest.mark.every_store
def test_a_visitor_sees_their_records_oldest_first_with_the_banner_they_were_shown(ledger):
    store = open_store(ledger)
    records = store.subject_records("default", SUBJECTS["b"])
    assert records == [
        {
            "decided_at": "2026-11-24T13:06:09Z",
            "policy_version": "2026-11",
            "action": "reject_all",
            "categories": ["necessary"],
            "language": "en",
            "config_hash": EN_HASH,
            "banner": BANNERS["en"],
        },
        {
            "decided_at": "2026-11-24T13:09:09Z",
            "policy_version": "2026-11",
            "action": "custom",
            "categories": ["marketing", "necessary"],
            "language": "de",
            "config_hash": DE_HASH,
            "banner": BANNERS["de"],
        },
    ]
    assert store.subject_records("other-site", SUBJECTS["b"]) == []
    assert store.subject_records("default", "") == []
    store.close()


@pytest.mark.every_store
def test_erasure_unlinks_a_visitor_and_the_chain_still_verifies(ledger):
    with raw_database(ledger) as sql:
        salts = [
            s for (s,) in sql("SELECT salt FROM ck_decisions WHERE subject = ?", (SUBJECTS["a"],))
        ]
    assert len(salts) == 2
    store = open_store(ledger, clock=Clock(NOW))
    others = {who: store.subject_records("default", SUBJECTS[who]) for who in "bc"}
    stats_query = {
        "metrics": ["decisions", "grant_rate"],
        "dimensions": ["consent:category"],
        "date_range": "day",
    }
    stats = store.query(stats_query)["results"]

    assert store.erase_subject("default", SUBJECTS["a"]) == 2

    assert store.subject_records("default", SUBJECTS["a"]) == []
    assert {who: store.subject_records("default", SUBJECTS[who]) for who in "bc"} == others
    assert store.query(stats_query)["results"] == stats  # consent analytics keep counting it
    report = store.verify_ledger()
    assert (report.ok, report.records, report.erased) == (True, 5, 2)
    assert store.erase_subject("default", SUBJECTS["a"]) == 0
    store.close()
    text = stored_text(ledger)
    assert SUBJECTS["b"] in text  # the scan can see a subject that is there
    for needle in [SUBJECTS["a"], *salts]:
        assert needle not in text


@pytest.mark.every_store
def test_an_erased_record_stays_tamper_evident(ledger):
    store = open_store(ledger)
    store.erase_subject("default", SUBJECTS["a"])
    store.close()
    tamper(ledger, "UPDATE ck_decisions SET action = 'reject_all' WHERE id = 1")
    assert verify(ledger).problems == [f"record 1: {EDITED}"]


@pytest.mark.every_store
def test_purging_old_decisions_cuts_the_start_of_the_chain_and_it_still_verifies(ledger):
    store = open_store(ledger)
    # keep 1 day, a day and 150 s after the first decision: the first three are older
    removed = store.purge(cutoffs({"decisions": 1}, NOW + 86400 + 150))
    assert removed == {"decisions": 3}
    report = store.verify_ledger()
    assert (report.ok, report.records, report.purged) == (True, 2, 3)
    store.close()
    tamper(ledger, "DELETE FROM ck_decisions WHERE id = 4")
    assert verify(ledger).problems == [
        "record 5: at position 5 where 4 was expected: 1 record(s) before it were removed or moved"
    ]


def test_a_published_head_shows_a_chain_rebuilt_by_someone_with_write_access(ledger):
    anchor = verify(ledger).head
    store = open_store(ledger, clock=Clock(NOW))
    decide(store, "c", "reject_all", (), "en", 300)
    assert store.verify_ledger(anchors=[anchor]).ok
    store.close()
    # The limit: edit a record and recompute every hash after it, and the chain verifies.
    tamper(ledger, "UPDATE ck_decisions SET action = 'accept_all' WHERE id = 2")
    rebuild_chain(ledger)
    assert verify(ledger).ok
    assert verify(ledger, anchors=[anchor]).problems == [
        f"anchor {anchor}: not a chain hash of this ledger: the chain was rebuilt, or the"
        " records up to it were purged"
    ]


def rebuild_chain(url):
    """What someone with write access and this code could do: recompute site default's
    chain from its start."""
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        (previous,) = db.execute("SELECT base FROM ck_ledger_heads").fetchone()
        rows = db.execute(
            "SELECT id, site, subject, decided_at, policy_version, action, categories,"
            " language, config_hash, seq, commitment FROM ck_decisions ORDER BY id"
        ).fetchall()
        for id_, *fields, seq, commitment in rows:
            fields[5] = categories_from_text(fields[5])
            entry = ledger_entry(
                DecisionRecord(*fields), position=seq, commitment=commitment, per_site=True
            )
            previous = chain_hash(previous, entry)
            db.execute("UPDATE ck_decisions SET chain_hash = ? WHERE id = ?", (previous, id_))
        db.execute("UPDATE ck_ledger_heads SET head = ?", (previous,))


def test_appends_from_two_stores_on_one_file_form_one_chain(store_url):
    stores = [open_store(store_url), open_store(store_url)]

    def append_many(store):
        for n in range(15):
            decide(store, "abc"[n % 3], "accept_all", ("analytics", "marketing"), "en", n)

    threads = [threading.Thread(target=append_many, args=(s,)) for s in stores * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report = stores[0].verify_ledger()
    assert (report.ok, report.records) == (True, 60)
    for store in stores:
        store.close()


@pytest.mark.every_store
def test_nothing_is_appended_once_the_chain_head_is_gone(ledger):
    store = open_store(ledger, clock=Clock(NOW))
    decide(store, "c", "reject_all", (), "en", 300)  # this store has seen the chain's head
    tamper(ledger, "DELETE FROM ck_ledger_heads")
    with pytest.raises(StoreError, match="chain head of site 'default'"):
        decide(store, "c", "reject_all", (), "en", 360)
    other = open_store(ledger, clock=Clock(NOW))  # one that never has
    with pytest.raises(StoreError, match="chain head of site 'default'"):
        decide(other, "c", "reject_all", (), "en", 360)
    assert store.verify_ledger().records == 6
    store.close()
    other.close()


@pytest.mark.anyio
async def test_decisions_posted_by_visitors_form_a_verified_chain(make_site, store_url):
    async with visit(make_site()) as browser:
        for choice in (
            {"action": "reject_all"},
            {"action": "accept_all"},
            {"action": "custom", "categories": ["analytics"]},
        ):
            assert (await browser.post("/consentkit/consent", json=choice)).status_code == 200
    report = verify(store_url)
    assert (report.ok, report.records) == (True, 3)
    with sqlite3.connect(store_url.removeprefix("sqlite:///")) as db:
        (subject,) = {s for (s,) in db.execute("SELECT subject FROM ck_decisions")}
    store = open_store(store_url)
    records = store.subject_records("default", subject)
    assert [r["categories"] for r in records] == [
        ["necessary"],
        ["analytics", "marketing", "necessary"],
        ["analytics", "necessary"],
    ]
    assert records[0]["banner"]["categories"]  # the configuration shown, parsed
    store.close()


# --- a chain per site ------------------------------------------------------------------------


@pytest.mark.every_store
def test_each_site_has_its_own_chain_verified_apart_and_as_a_whole(ledger, capsys):
    store = open_store(ledger, clock=Clock(NOW))
    for n, site in enumerate(["shop", "default", "shop", "shop"]):
        decide(store, "abc"[n % 3], "accept_all", ("analytics",), "en", 300 + n, site=site)
    with raw_database(ledger) as sql:
        positions = sql("SELECT site, seq FROM ck_decisions WHERE id > 5 ORDER BY id")
    assert positions == [("shop", 1), ("default", 6), ("shop", 2), ("shop", 3)]

    report = store.verify_ledger()
    assert (report.ok, report.records, report.problems) == (True, 9, [])
    heads = store.ledger_heads()
    assert report.heads == heads and sorted(heads) == ["default", "shop"]
    assert store.ledger_head("shop") == heads["shop"] != heads["default"]
    assert store.ledger_head("blog") == GENESIS  # where its chain will start
    with pytest.raises(ValueError, match="a chain for each of 2 sites"):
        store.ledger_head()
    assert store.verify_ledger(anchors=[heads["shop"], heads["default"]]).ok
    store.close()
    assert run(capsys, "ledger", "head", "--store", ledger) == (
        0,
        f"{heads['default']}  default\n{heads['shop']}  shop\n",
        "",
    )
    assert run(capsys, "ledger", "head", "--store", ledger, "--site", "shop") == (
        0,
        f"{heads['shop']}  shop\n",
        "",
    )

    tamper(ledger, "UPDATE ck_decisions SET action = 'reject_all' WHERE id = 8")
    assert verify(ledger).problems == [f"record 8: {EDITED}"]  # default's chain is whole


@pytest.mark.every_store
def test_decisions_appended_at_once_by_many_threads_form_whole_chains(store_url):
    store = open_store(store_url, clock=Clock(NOW))

    def append_many(n):
        for i in range(10):
            site = ("default", "shop", "blog")[(n + i) % 3]
            decide(store, "abc"[n % 3], "accept_all", ("analytics",), "en", i, site=site)

    threads = [threading.Thread(target=append_many, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report = store.verify_ledger()
    assert (report.ok, report.records, sorted(report.heads)) == (
        True,
        120,
        ["blog", "default", "shop"],
    )
    total = 0
    for site in ("default", "shop", "blog"):
        answer = store.query({"site_id": site, "metrics": ["decisions"], "date_range": "all"})
        total += answer["results"][0]["metrics"][0]
    assert total == 120  # consent statistics added up per batch, none lost or doubled
    store.close()


@pytest.mark.every_store
def test_a_failed_batch_acknowledges_none_of_its_decisions(ledger):
    store = open_store(ledger, clock=Clock(NOW))
    decide(store, "c", "reject_all", (), "en", 300)  # the chain and banner are known
    tamper(ledger, "ALTER TABLE ck_consent_stats RENAME TO ck_consent_stats_away")
    failures = []
    start = threading.Barrier(8)

    def append(n):
        start.wait()
        try:
            decide(store, "abc"[n % 3], "accept_all", ("analytics",), "en", 400 + n)
        except StoreError as error:
            failures.append(error)

    threads = [threading.Thread(target=append, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(failures) == 8  # every appender was told, in its own thread
    tamper(ledger, "ALTER TABLE ck_consent_stats_away RENAME TO ck_consent_stats")
    report = store.verify_ledger()
    assert (report.ok, report.records) == (True, 6)  # nothing of the failed batches stayed
    decide(store, "a", "accept_all", ("analytics",), "en", 500)
    assert store.verify_ledger().records == 7
    store.close()


@pytest.mark.every_store
def test_a_version_4_ledger_keeps_its_proofs_and_sites_chain_on_from_its_head(store_url, capsys):
    """Records chained in the one chain of versions 3 and 4 keep their hashes; each site's
    chain starts from that chain's last hash, so a head published before still covers them."""
    canonical, config_hash = config_fingerprint(BANNERS["en"])
    spelling = SQLITE_SPELLING if store_url.startswith("sqlite:") else POSTGRES_SPELLING
    with raw_database(store_url) as sql:
        sql("CREATE TABLE ck_schema (version INTEGER NOT NULL)")
        for version in (1, 2, 3, 4):
            for statement in dict(MIGRATIONS)[version]:
                sql(statement.format(**spelling))
            sql("INSERT INTO ck_schema VALUES (?)", (version,))
        sql("INSERT INTO ck_banner_configs VALUES (?, ?)", (config_hash, canonical))
        previous = GENESIS
        for position, (site, who, after) in enumerate(
            [("default", "a", 0), ("shop", "b", 60), ("default", "c", 120)], start=1
        ):
            record = decision_record(
                site=site,
                subject=SUBJECTS[who],
                decided_at=NOW + after,
                policy_version="2026-11",
                action="accept_all",
                granted=frozenset({"necessary", "analytics"}),
                language="en",
                config_hash=config_hash,
            )
            salt = "ab" * 16
            commitment = subject_commitment(salt, record.subject)
            previous = chain_hash(
                previous, ledger_entry(record, position=position, commitment=commitment)
            )
            sql(
                "INSERT INTO ck_decisions (site, subject, decided_at, policy_version, action,"
                " categories, language, config_hash, seq, salt, commitment, chain_hash)"
                " VALUES (?, ?, ?, '2026-11', 'accept_all', 'analytics necessary', 'en', ?, ?,"
                " ?, ?, ?)",
                (
                    site,
                    record.subject,
                    record.decided_at,
                    config_hash,
                    position,
                    salt,
                    commitment,
                    previous,
                ),
            )
        sql("UPDATE ck_ledger_head SET records = 3, head = ?", (previous,))
        proofs = sql("SELECT id, chain_hash FROM ck_decisions ORDER BY id")
    published = previous

    assert run(capsys, "ledger", "head", "--store", store_url) == (0, f"{published}\n", "")
    store = open_store(store_url, clock=Clock(NOW))
    assert store.verify_ledger(anchors=[published]).ok
    assert store.ledger_head() == published  # no site's chain yet
    decide(store, "a", "reject_all", (), "en", 180)
    decide(store, "b", "reject_all", (), "en", 240, site="shop")
    decide(store, "c", "reject_all", (), "en", 300)
    report = store.verify_ledger(anchors=[published])
    assert (report.ok, report.records) == (True, 6)
    with raw_database(store_url) as sql:
        assert sql("SELECT id, chain_hash FROM ck_decisions WHERE id <= 3 ORDER BY id") == proofs
        assert sql("SELECT site, base FROM ck_ledger_heads ORDER BY site") == [
            ("default", published),
            ("shop", published),
        ]
        assert sql("SELECT seq FROM ck_decisions WHERE id > 3 ORDER BY id") == [(1,), (1,), (2,)]
    # retention cuts the start of every chain: the first chain's three, default's first
    assert store.purge(cutoffs({"decisions": 1}, NOW + 86400 + 200)) == {"decisions": 4}
    report = store.verify_ledger()
    assert (report.ok, report.records, report.purged) == (True, 2, 4)
    store.close()
    tamper(store_url, "UPDATE ck_decisions SET decided_at = decided_at + 1 WHERE id = 6")
    assert verify(store_url).problems == [f"record 6: {EDITED}"]


# --- the command line ------------------------------------------------------------------------


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ledger_verify_prints_the_count_and_head_or_each_problem(ledger, capsys):
    store = open_store(ledger)
    store.erase_subject("default", SUBJECTS["c"])
    head = store.ledger_head()
    store.close()
    assert run(capsys, "ledger", "verify", "--store", ledger) == (
        0,
        f"ledger OK: 5 records (1 erased)\n{head}  default\n",
        "",
    )
    assert run(capsys, "ledger", "head", "--store", ledger) == (0, f"{head}  default\n", "")
    code, out, _ = run(capsys, "ledger", "verify", "--store", ledger, "--anchor", head)
    assert code == 0
    tamper(ledger, "UPDATE ck_decisions SET action = 'accept_all' WHERE id = 2")
    code, out, _ = run(capsys, "ledger", "verify", "--store", ledger)
    assert code == 1
    assert out.splitlines() == [
        f"record 2: {EDITED}",
        "ledger NOT OK: 1 problem(s) in 5 records (1 erased)",
    ]


def test_ledger_commands_default_to_the_usual_store_and_never_create_one(tmp_path, capsys):
    from consentkit.cli.main import DEFAULT_STORE

    parser = argparse.ArgumentParser(prog="consentkit")
    add_ledger_command(parser.add_subparsers(dest="command", required=True))
    assert parser.parse_args(["ledger", "verify"]).store == DEFAULT_STORE
    missing = f"sqlite:///{tmp_path / 'typo.sqlite3'}"
    for command in ("verify", "head"):
        code, _, err = run(capsys, "ledger", command, "--store", missing)
        assert (code, "no database at" in err) == (2, True)
    assert not (tmp_path / "typo.sqlite3").exists()


# --- databases from before the chain ---------------------------------------------------------


@pytest.mark.every_store
def test_a_version_2_ledger_is_chained_when_opened_and_verifies(store_url):
    canonical, config_hash = config_fingerprint(BANNERS["en"])
    spelling = SQLITE_SPELLING if store_url.startswith("sqlite:") else POSTGRES_SPELLING
    with raw_database(store_url) as sql:
        sql("CREATE TABLE ck_schema (version INTEGER NOT NULL)")
        for version in (1, 2):
            for statement in dict(MIGRATIONS)[version]:
                sql(statement.format(**spelling))
            sql("INSERT INTO ck_schema VALUES (?)", (version,))
        sql("INSERT INTO ck_banner_configs VALUES (?, ?)", (config_hash, canonical))
        for subject, after, action, categories in [
            (SUBJECTS["a"], 0, "accept_all", "analytics marketing necessary"),
            (SUBJECTS["b"], 60, "reject_all", "necessary"),
            (SUBJECTS["a"], 120, "custom", "analytics necessary"),
        ]:
            sql(
                "INSERT INTO ck_decisions (site, subject, decided_at, policy_version, action,"
                " categories, language, config_hash) VALUES ('default', ?, ?, '2026-11', ?, ?,"
                " 'en', ?)",
                (subject, NOW + after, action, categories, config_hash),
            )
    store = open_store(store_url, clock=Clock(NOW))
    report = store.verify_ledger()
    assert (report.ok, report.records) == (True, 3)
    assert [r["action"] for r in store.subject_records("default", SUBJECTS["a"])] == [
        "accept_all",
        "custom",
    ]
    decide(store, "c", "accept_all", ("analytics", "marketing"), "en", 180)
    assert store.erase_subject("default", SUBJECTS["a"]) == 2
    report = store.verify_ledger()
    assert (report.ok, report.records, report.erased) == (True, 4, 2)
    store.close()
    tamper(store_url, "UPDATE ck_decisions SET categories = 'necessary' WHERE id = 1")
    assert verify(store_url).problems == [f"record 1: {EDITED}"]
