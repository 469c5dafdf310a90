"""The consent ledger on PostgreSQL, where many processes append at once. (Every other
ledger test runs on PostgreSQL too: test_ledger.py, marked ``every_store``.)"""

from __future__ import annotations

import threading
import time

import psycopg
from support import raw_database
from test_ledger import SUBJECTS, decide

from consentkit import open_store
from consentkit.ledger.spool import DecisionSpool


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


def test_decisions_arriving_together_are_committed_together(postgres_url):
    """Group commit: 16 visitors deciding at once share transactions (each row's xmin is
    the transaction that inserted it), and every one of them is stored."""
    store = open_store(postgres_url)
    start = threading.Barrier(16)

    def append_many(n):
        start.wait()
        for i in range(10):
            decide(store, "abc"[n % 3], "accept_all", ("analytics",), "en", i)

    threads = [threading.Thread(target=append_many, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with raw_database(postgres_url) as sql:
        ((records, transactions),) = sql(
            "SELECT COUNT(*), COUNT(DISTINCT xmin::text) FROM ck_decisions"
        )
    assert records == 160
    assert transactions < records / 2
    assert store.verify_ledger().ok
    store.close()


def test_a_held_chain_head_holds_up_only_its_site_and_its_decisions_wait_in_the_spool(
    postgres_url, tmp_path
):
    """Someone holds site default's head (a hung session, a long purge): the shop's
    decisions go on, default's are spooled after about decision_timeout, then stored."""
    store = open_store(postgres_url + "&decision_timeout=0.5")
    spool = DecisionSpool(str(tmp_path / "spool.sqlite3"), store)
    decide(spool, "a", "accept_all", ("analytics",), "en", 0)
    decide(spool, "a", "accept_all", ("analytics",), "en", 0, site="shop")
    with psycopg.connect(postgres_url) as holder:
        holder.execute("SELECT * FROM ck_ledger_heads WHERE site = 'default' FOR UPDATE")
        started = time.monotonic()
        decide(spool, "b", "reject_all", (), "en", 60)
        waited = time.monotonic() - started
        assert spool.pending == 1
        assert 0.4 < waited < 3
        started = time.monotonic()
        decide(store, "b", "reject_all", (), "en", 60, site="shop")  # not held up
        assert time.monotonic() - started < 0.4
        holder.rollback()
    assert spool.drain_once() == 1
    report = store.verify_ledger()
    assert (report.ok, report.records) == (True, 4)
    assert [r["action"] for r in store.subject_records("default", SUBJECTS["b"])] == ["reject_all"]
    spool.close()
    store.close()
