"""consentkit.analytics.hll: registers and ranks as HyperLogLog defines them, estimates exact
while small and within 2% when large, unions that never count a visitor twice."""

from __future__ import annotations

import numpy as np
import pytest

from consentkit.analytics import hll


def random_hashes(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2**64 - 1, n, dtype=np.uint64, endpoint=True)


def reference(hash_value: int) -> tuple[int, int]:
    """Register and rank of one hash, written out as the definition says."""
    low = hash_value & ((1 << 49) - 1)
    return hash_value >> 49, 49 - low.bit_length() + 1


@pytest.mark.parametrize("seed", [1, 2])
def test_registers_and_ranks_follow_the_definition(seed):
    hashes = np.concatenate(
        (
            random_hashes(1000, seed),
            np.array([0, 1, 2**49 - 1, 2**49, 2**63, 2**64 - 1], dtype=np.uint64),
        )
    )
    registers, ranks = hll.register_and_rank(hashes)
    expected = [reference(int(h)) for h in hashes.tolist()]
    assert list(zip(registers.tolist(), ranks.tolist(), strict=True)) == expected
    assert ranks.min() >= 1 and ranks.max() <= hll.MAX_RANK


def test_distinct_keeps_the_largest_rank_of_each_register_of_each_group():
    groups = np.array([1, 0, 1, 1, 0, 1], dtype=np.int64)
    registers = np.array([7, 7, 7, 9, 7, 7], dtype=np.int64)
    ranks = np.array([2, 5, 4, 1, 3, 1], dtype=np.uint8)
    kept = hll.distinct(groups, registers, ranks)
    assert [k.tolist() for k in kept] == [[0, 1, 1], [7, 7, 9], [5, 4, 1]]


@pytest.mark.parametrize("n", [0, 1, 2, 3, 10, 50, 100, 150])
def test_small_counts_are_exact_up_to_register_collisions(n):
    hashes = random_hashes(n, 7 + n)
    registers, ranks = hll.register_and_rank(hashes)
    groups, registers, ranks = hll.distinct(np.zeros(n, np.int64), registers, ranks)
    estimate = int(hll.estimate_sparse(groups, ranks, 1)[0])
    assert estimate == len(set(registers.tolist()))  # two visitors sharing one register: rare


@pytest.mark.parametrize("n", [2_000, 30_000, 200_000, 2_000_000])
def test_large_counts_are_within_two_percent(n):
    errors = []
    for seed in range(5):
        registers, ranks = hll.register_and_rank(random_hashes(n, seed))
        dense = np.zeros(hll.REGISTERS, np.uint8)
        np.maximum.at(dense, registers, ranks)
        errors.append(abs(int(hll.estimate_dense(dense)[0]) / n - 1))
    assert max(errors) < 0.02, errors  # the standard error is 0.57%


def test_sparse_and_dense_forms_estimate_alike():
    registers, ranks = hll.register_and_rank(random_hashes(20_000, 3))
    groups, registers, ranks = hll.distinct(np.zeros(len(ranks), np.int64), registers, ranks)
    dense = np.zeros(hll.REGISTERS, np.uint8)
    dense[registers] = ranks
    assert hll.estimate_sparse(groups, ranks, 1)[0] == hll.estimate_dense(dense)[0]


def test_many_groups_at_once_and_an_empty_one():
    registers, ranks = hll.register_and_rank(random_hashes(300, 5))
    groups = np.repeat(np.array([0, 2]), [100, 200])
    g, _, k = hll.distinct(groups, registers, ranks)
    estimates = hll.estimate_sparse(g, k, 3).tolist()
    assert estimates[1] == 0 and 99 <= estimates[0] <= 100 and 198 <= estimates[2] <= 200


def test_the_visitor_hash_is_keyed():
    assert hll.visitor_hash(b"a" * 32, "visitor") != hll.visitor_hash(b"b" * 32, "visitor")
    assert hll.visitor_hash(b"a" * 32, "visitor") == hll.visitor_hash(b"a" * 32, "visitor")
