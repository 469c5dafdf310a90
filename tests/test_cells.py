"""consentkit.analytics.cells and rollups: blocks that decode to what was encoded, merges
that add counts and unite sketches in any order, roll-ups that answer like the cells."""

from __future__ import annotations

import numpy as np
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from consentkit.analytics import blocks, hll
from consentkit.analytics import cells as cube
from consentkit.analytics.cells import KEYS, Cells
from consentkit.analytics.rollups import KINDS, SEGMENT_KEYS, rollups


def random_cells(n: int, visitors_per_cell: int, seed: int, *, spread: int = 5) -> Cells:
    """n cells over a few values of each key, each seen by up to visitors_per_cell hashes."""
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, spread, (len(KEYS), n)).astype(np.int64)
    seen = rng.integers(1, visitors_per_cell + 1, n)
    hashes = rng.integers(0, 2**63, int(seen.sum()), dtype=np.uint64) * np.uint64(2)
    registers, ranks = hll.register_and_rank(hashes)
    entry_cells, registers, ranks = hll.distinct(np.repeat(np.arange(n), seen), registers, ranks)
    measures = tuple(rng.integers(0, 50, n).astype(np.int64) for _ in cube.MEASURES)
    sketches = (np.bincount(entry_cells, minlength=n), registers, ranks,
                np.zeros(0, np.int64), cube.no_registers())  # fmt: skip
    return Cells.of(keys, measures, sketches)  # type: ignore[arg-type]


def as_rows(cells: Cells) -> dict[tuple[int, ...], tuple[tuple[int, ...], int]]:
    """Each cell by its keys: its measures and its estimated visitors."""
    n = len(cells)
    visitors = cube.visitors(np.arange(n, dtype=np.int64), n, cells)
    return {
        tuple(cells.keys[:, i].tolist()): (
            tuple(int(m[i]) for m in cells.measures),
            int(visitors[i]),
        )
        for i in range(n)
    }


@given(st.integers(0, 60), st.integers(1, 30), st.integers(0, 2**32 - 1))
@settings(max_examples=40, deadline=None)
def test_a_block_decodes_to_what_was_encoded(n, visitors_per_cell, seed):
    cells = cube.aggregate(random_cells(n, visitors_per_cell, seed))
    again = blocks.decode(blocks.encode(cells))
    assert as_rows(again) == as_rows(cells)
    assert again.entry_counts.tolist() == cells.entry_counts.tolist()


def test_merging_adds_counts_and_unites_visitors_in_any_order():
    a, b, c = (random_cells(200, 8, seed) for seed in (1, 2, 3))
    merged = cube.merge([a, b, c])
    assert as_rows(merged) == as_rows(cube.merge([c, cube.merge([b, a])]))
    assert int(merged.count.sum()) == int(a.count.sum() + b.count.sum() + c.count.sum())
    # a cell merged with itself counts twice, but its visitors once
    twice = cube.merge([a, a])
    assert {k: v[1] for k, v in as_rows(twice).items()} == {
        k: v[1] for k, v in as_rows(cube.aggregate(a)).items()
    }


def test_a_cell_with_many_visitors_keeps_its_registers_whole_and_counts_alike():
    big = random_cells(1, 20_000, 9, spread=1)
    merged = cube.aggregate(big)
    assert len(merged.dense_cells) == 1 and merged.entry_counts.tolist() == [0]
    sparse_estimate = cube.visitors(np.zeros(1, np.int64), 1, big)[0]
    assert cube.visitors(np.zeros(1, np.int64), 1, merged)[0] == sparse_estimate
    again = blocks.decode(blocks.encode(merged))
    assert as_rows(again) == as_rows(merged)


@pytest.mark.parametrize(
    "spoil",
    [
        lambda block: block[: len(block) // 2],
        lambda block: b"not a block",
        lambda block: zstandard.compress(
            b"\x09" + zstandard.decompress(block)[1:]
        ),  # a future version
        lambda block: zstandard.compress(zstandard.decompress(block)[:-1] + b"\x77"),  # rank 119
        lambda block: zstandard.compress(zstandard.decompress(block) + b"\x00"),
    ],
)
def test_a_spoilt_block_is_refused(spoil):
    block = blocks.encode(cube.aggregate(random_cells(20, 3, 4)))
    with pytest.raises(ValueError):
        blocks.decode(spoil(block))


def test_roll_ups_answer_what_the_cells_answer():
    cells = cube.aggregate(random_cells(400, 12, 5, spread=7))
    views = cells.key("event") == 0
    page_views = cube.take(cells, views)
    for kind, rolled in rollups(cells).items():
        kept = {"total": (), "segment": SEGMENT_KEYS}.get(kind, (kind,))
        columns = [cells.key(name)[views] for name in kept] or [
            np.zeros(int(views.sum()), np.int64)
        ]
        group, first = cube.group_rows(columns)
        expected = dict(
            zip(
                zip(*(column[first].tolist() for column in columns), strict=True),
                zip(
                    cube.visitors(group, len(first), page_views).tolist(),
                    cube.sums(group, len(first), page_views.count).tolist(),
                    strict=True,
                ),
                strict=True,
            )
        )
        labels = [rolled.key(name) for name in kept] or [np.zeros(len(rolled), np.int64)]
        got = dict(
            zip(
                zip(*(label.tolist() for label in labels), strict=True),
                zip(
                    cube.visitors(np.arange(len(rolled)), len(rolled), rolled).tolist(),
                    rolled.count.tolist(),
                    strict=True,
                ),
                strict=True,
            )
        )
        assert got == expected, kind
        if kind == "segment":  # several columns at once, not one
            assert len(got) > max(len(set(c.tolist())) for c in columns)
    assert set(rollups(cells)) == set(KINDS)


def test_grouping_by_wide_keys_falls_back_to_sorting():
    rng = np.random.default_rng(1)
    columns = [rng.integers(0, 2**40, 50).astype(np.int64) for _ in range(3)]
    columns = [np.concatenate((c, c)) for c in columns]
    group, first = cube.group_rows(columns)
    assert len(first) == 50 and (group[:50] == group[50:]).all()
