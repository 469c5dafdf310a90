"""The consent ledger on PostgreSQL: the same hash chain as on SQLite (test_ledger.py),
appended to by many processes at once, and as tamper-evident to someone with psql."""

from __future__ import annotations

import threading

import pytest
from conftest import Clock, raw_database
from test_ledger import BANNERS, DECISIONS, EDITED, MOVED, NOW, SUBJECTS, decide

from consentkit import open_store
from consentkit.errors import StoreError
from consentkit.ledger import GENESIS, config_fingerprint
from consentkit.retention import cutoffs
from consentkit.store.postgres import SPELLING
from consentkit.store.schema import MIGRATIONS


@pytest.fixture
def ledger(postgres_url):
    """Five decisions by three visitors, on two banners."""
    store = open_store(postgres_url, clock=Clock(NOW))
    for decision in DECISIONS:
        decide(store, *decision)
    store.close()
    return postgres_url


def verify(url, **options):
    store = open_store(url)
    try:
        return store.verify_ledger(**options)
    finally:
        store.close()


def tamper(url, *statements):
    """Change the database as someone with psql and write access could."""
    with raw_database(url) as sql:
        for statement in statements:
            sql(statement)


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


@pytest.mark.parametrize(
    ("statements", "problems"),
    [
        pytest.param(["UPDATE ck_decisions SET action = 'accept_all' WHERE id = 3"],
                     [f"record 3: {EDITED}"], id="field-edited"),
        pytest.param(["DELETE FROM ck_decisions WHERE id = 3"],
                     [f"record 4: at position 4 where 3 was expected: {MOVED}"],
                     id="middle-deleted"),
        pytest.param(["UPDATE ck_decisions SET id = -2 WHERE id = 2",
                      "UPDATE ck_decisions SET id = 2 WHERE id = 3",
                      "UPDATE ck_decisions SET id = 3 WHERE id = -2"],
                     [f"record 2: at position 3 where 2 was expected: {MOVED}",
                      "record 3: at position 2 where 4 was expected: moved"], id="swapped"),
        pytest.param(["UPDATE ck_ledger_head SET records = 4"],
                     ["record 5: at position 5, past the chain head (4 records): the head was"
                      " edited or records were added around it"], id="head-count-edited"),
        pytest.param(["DELETE FROM ck_ledger_head"],
                     ["ledger: the chain head is missing (ck_ledger_head emptied)"],
                     id="head-deleted"),
    ],
)
def test_tampering_is_found_and_names_the_record(ledger, statements, problems):
    tamper(ledger, *statements)
    report = verify(ledger)
    assert (report.ok, report.problems) == (False, problems)


def test_erasure_unlinks_a_visitor_and_the_chain_still_verifies(ledger):
    with raw_database(ledger) as sql:
        salts = [s for (s,) in sql("SELECT salt FROM ck_decisions WHERE subject = ?",
                                   (SUBJECTS["a"],))]
    assert len(salts) == 2
    store = open_store(ledger, clock=Clock(NOW))
    others = store.subject_records("default", SUBJECTS["b"])
    assert [r["banner"] for r in others] == [BANNERS["en"], BANNERS["de"]]
    assert store.erase_subject("default", SUBJECTS["a"]) == 2
    assert store.subject_records("default", SUBJECTS["a"]) == []
    assert store.subject_records("default", SUBJECTS["b"]) == others
    report = store.verify_ledger()
    assert (report.ok, report.records, report.erased) == (True, 5, 2)
    store.close()
    with raw_database(ledger) as sql:
        text = str(sql("SELECT * FROM ck_decisions"))
    assert SUBJECTS["b"] in text  # the scan can see a subject that is there
    for needle in [SUBJECTS["a"], *salts]:
        assert needle not in text


def test_purging_old_decisions_cuts_the_start_of_the_chain_and_it_still_verifies(ledger):
    store = open_store(ledger)
    removed = store.purge(cutoffs({"decisions": 1}, NOW + 86400 + 150))
    assert removed == {"decisions": 3}
    report = store.verify_ledger()
    assert (report.ok, report.records, report.purged) == (True, 2, 3)
    store.close()


def test_appends_from_many_processes_form_one_chain(postgres_url):
    """Four stores (four pools, as four worker processes would have) append at once."""
    stores = [open_store(postgres_url) for _ in range(4)]
    start = threading.Barrier(len(stores))

    def append_many(store):
        start.wait()
        for n in range(15):
            decide(store, "abc"[n % 3], "accept_all", ("analytics", "marketing"), "en", n)

    threads = [threading.Thread(target=append_many, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report = stores[0].verify_ledger()
    assert (report.ok, report.records, report.problems) == (True, 60, [])
    decisions = stores[0].query({"metrics": ["decisions"], "date_range": "all"})
    assert decisions["results"][0]["metrics"] == [60]  # consent analytics add up too
    for store in stores:
        store.close()


def test_nothing_is_appended_once_the_chain_head_is_gone(ledger):
    tamper(ledger, "DELETE FROM ck_ledger_head")
    store = open_store(ledger, clock=Clock(NOW))
    with pytest.raises(StoreError, match="ck_ledger_head"):
        decide(store, "c", "reject_all", (), "en", 300)
    assert store.verify_ledger().records == 5
    store.close()


def test_a_version_2_ledger_is_chained_when_opened_and_verifies(postgres_url):
    canonical, config_hash = config_fingerprint(BANNERS["en"])
    with raw_database(postgres_url) as sql:
        sql("CREATE TABLE ck_schema (version INTEGER NOT NULL)")
        for version in (1, 2):
            for statement in dict(MIGRATIONS)[version]:
                sql(statement.format(**SPELLING))
            sql("INSERT INTO ck_schema VALUES (?)", (version,))
        sql("INSERT INTO ck_banner_configs VALUES (?, ?)", (config_hash, canonical))
        for subject, after, action, categories in [
            (SUBJECTS["a"], 0, "accept_all", "analytics marketing necessary"),
            (SUBJECTS["b"], 60, "reject_all", "necessary"),
            (SUBJECTS["a"], 120, "custom", "analytics necessary"),
        ]:
            sql("INSERT INTO ck_decisions (site, subject, decided_at, policy_version, action,"
                " categories, language, config_hash) VALUES ('default', ?, ?, '2026-11', ?, ?,"
                " 'en', ?)", (subject, NOW + after, action, categories, config_hash))
    store = open_store(postgres_url, clock=Clock(NOW))
    report = store.verify_ledger()
    assert (report.ok, report.records) == (True, 3)
    assert [r["action"] for r in store.subject_records("default", SUBJECTS["a"])] == [
        "accept_all", "custom"]
    decide(store, "c", "accept_all", ("analytics", "marketing"), "en", 180)
    assert store.verify_ledger().records == 4
    store.close()
    tamper(postgres_url, "UPDATE ck_decisions SET categories = 'necessary' WHERE id = 1")
    assert verify(postgres_url).problems == [f"record 1: {EDITED}"]
