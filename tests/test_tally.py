"""The request path's count in memory (``analytics/tally.py``), before any store."""

from __future__ import annotations

from consentkit.analytics.cube import pack
from consentkit.analytics.tally import FIRST_ROOM, Tally


def test_a_batch_past_its_first_room_keeps_every_page_view_in_order():
    """The tally's columns start small and double when full: every page view counted, in
    order, with its visitor's hash (64 bits, unsigned) and its cell, across the growth."""
    tally = Tally(1_000_000)
    segment = ("DE", "desktop", "Chrome", "Windows")
    n = FIRST_ROOM * 2 + 3
    hashes = [(2**64 - 1 - i * 7_919) for i in range(n)]
    for i, visitor in enumerate(hashes):
        tally.count(490_000 + i % 3, segment, f"/page/{i % 5}", visitor)
        tally.count(490_000, segment, "/", None)
        if i % 2:
            tally.count(490_001, segment, "/", None)
    assert tally.pending == n + n + n // 2
    counted = tally.take()
    assert list(counted.visitors) == hashes
    pages = {page: number for number, page in enumerate(counted.pages)}
    assert list(counted.cells) == [
        pack(490_000 + i % 3, 0, pages[f"/page/{i % 5}"]) for i in range(n)
    ]
    assert len(counted.anonymous) == n + n // 2
    assert counted.views == 2 * n + n // 2
    assert tally.pending == 0
    assert tally.take().views == 0
