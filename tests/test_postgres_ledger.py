"""The consent ledger on PostgreSQL, where many processes append at once. (Every other
ledger test runs on PostgreSQL too: test_ledger.py, marked ``every_store``.)"""

from __future__ import annotations

import threading

from test_ledger import decide

from consentkit import open_store


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
