"""consentkit.analytics.sketch: exactness when small, accuracy when large, exact unions."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consentkit.analytics.sketch import (
    DENSE_TAG,
    SPARSE_MAX_ENTRIES,
    SPARSE_TAG,
    DistinctSketch,
    union,
    visitor_hash,
)

M = 1 << 15


def hashes(n: int, seed: int) -> list[int]:
    """n distinct random 64-bit hashes."""
    rng = random.Random(seed)
    out: set[int] = set()
    while len(out) < n:
        out.add(rng.getrandbits(64))
    return list(out)


def sketch_of(hs: list[int]) -> DistinctSketch:
    sketch = DistinctSketch()
    sketch.update(hs)
    return sketch


def reference_bytes(hs: list[int]) -> bytes:
    """The expected serialization, computed straight from the hashes (no sparse->dense path)."""
    sparse: dict[int, int] = {}
    for h in hs:
        idx, rank = h >> 39, 40 - (h & ((1 << 39) - 1)).bit_length()
        sparse[idx] = max(sparse.get(idx, 0), rank)
    if len(sparse) <= SPARSE_MAX_ENTRIES:
        body = b"".join((i << 6 | r).to_bytes(4, "big") for i, r in sorted(sparse.items()))
        return bytes([SPARSE_TAG]) + body
    regs = bytearray(M)
    for h in hs:
        i, r = h >> 49, 50 - (h & ((1 << 49) - 1)).bit_length()
        regs[i] = max(regs[i], r)
    return bytes([DENSE_TAG]) + regs


# --- exactness while sparse -------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 2, 10, 100, 1000, 3000])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_small_counts_are_exact_up_to_index_collisions(n: int, seed: int) -> None:
    # Guarantee: a sparse estimate equals the number of distinct 25-bit indexes exactly; it is
    # below n only when two hashes share their top 25 bits (chance ~ n**2 / 2**26: 1.5% at
    # n=1000, 13% at n=3000), and then by the number of such collisions.
    hs = hashes(n, seed)
    sketch = sketch_of(hs)
    assert sketch.is_sparse
    assert sketch.estimate() == len({h >> 39 for h in hs})
    assert n - 1 <= sketch.estimate() <= n


def test_estimate_is_exact_for_every_count_up_to_the_switch() -> None:
    rng = random.Random(7)
    sketch = DistinctSketch()
    assert sketch.estimate() == 0
    indexes = rng.sample(range(1 << 25), SPARSE_MAX_ENTRIES + 1)  # distinct top 25 bits
    for k, idx in enumerate(indexes[:-1], start=1):
        sketch.add(idx << 39 | rng.getrandbits(39))
        assert sketch.estimate() == k
    assert sketch.is_sparse
    sketch.add(indexes[-1] << 39)
    assert not sketch.is_sparse
    assert abs(sketch.estimate() - (SPARSE_MAX_ENTRIES + 1)) < 0.02 * SPARSE_MAX_ENTRIES


def test_duplicates_do_not_count() -> None:
    hs = hashes(500, 11)
    sketch = sketch_of(hs + hs[::-1] + hs[:100])
    assert sketch.estimate() == sketch_of(hs).estimate()
    assert sketch.to_bytes() == sketch_of(hs).to_bytes()


# --- accuracy once dense ----------------------------------------------------------------------


@pytest.mark.parametrize(("n", "seed"), [(10_000, 1), (100_000, 1), (100_000, 2), (100_000, 3)])
def test_dense_relative_error_under_two_percent(n: int, seed: int) -> None:
    rng = random.Random(seed)
    sketch = DistinctSketch()
    sketch.update(rng.getrandbits(64) for _ in range(n))
    assert not sketch.is_sparse
    assert abs(sketch.estimate() - n) / n < 0.02  # std error at p=15 is ~0.57%


def test_one_million_visitor_ids() -> None:
    key = b"k" * 32
    sketch = DistinctSketch()
    sketch.update(visitor_hash(key, f"visitor-{i}") for i in range(1_000_000))
    assert abs(sketch.estimate() - 1_000_000) / 1_000_000 < 0.02


def test_sparse_to_dense_conversion_matches_direct_registers() -> None:
    hs = hashes(20_000, 5)
    assert sketch_of(hs).to_bytes() == reference_bytes(hs)
    assert union([sketch_of(hs[:4000]), sketch_of(hs[4000:])]).to_bytes() == reference_bytes(hs)


# --- unions -----------------------------------------------------------------------------------

# Hashes that collide on their top 25 bits with different ranks, so "keep the max rank" matters.
colliding = st.builds(
    lambda idx, zeros, low: idx << 39 | (1 << (38 - zeros)) | (low & ((1 << (38 - zeros)) - 1)),
    st.integers(0, 20),
    st.integers(0, 38),
    st.integers(0, (1 << 38) - 1),
) | st.builds(lambda idx: idx << 39, st.integers(0, 20))  # rank 40: the 39 low bits all zero


def check_partition(all_hs: list[int], data: st.DataObject) -> None:
    k = data.draw(st.integers(1, 12), label="k")
    rnd = random.Random(data.draw(st.integers(0, 2**32), label="partition seed"))
    parts: list[list[int]] = [[] for _ in range(k)]
    for h in all_hs:
        parts[rnd.randrange(k)].append(h)
        if rnd.random() < 0.2:  # the same visitor in a second row
            parts[rnd.randrange(k)].append(h)
    sketches = [sketch_of(p) for p in parts]
    inputs: list[DistinctSketch | bytes] = [
        s.to_bytes() if rnd.random() < 0.5 else s for s in sketches
    ]
    rnd.shuffle(inputs)
    expected = reference_bytes(all_hs)
    assert union(inputs).to_bytes() == expected
    merged = DistinctSketch()
    for s in sketches[::-1]:
        merged.merge(s)
    assert merged.to_bytes() == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, (1 << 64) - 1) | colliding, max_size=200), st.data())
def test_union_of_partition_equals_sketch_of_union_small(
    hs: list[int], data: st.DataObject
) -> None:
    check_partition(hs, data)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32), st.sampled_from([3000, 4096, 4097, 4500, 9000]), st.data())
def test_union_of_partition_equals_sketch_of_union_large(
    seed: int, n: int, data: st.DataObject
) -> None:
    check_partition(hashes(n, seed), data)


@pytest.mark.parametrize(("pool_size", "rows", "sparse"), [(1500, 400, True), (4300, 1000, False)])
def test_heavily_duplicated_union(pool_size: int, rows: int, sparse: bool) -> None:
    # Returning visitors: far more entries than distinct ones (up to 100,000 for 4,300).
    pool = hashes(pool_size, 21)
    rng = random.Random(21)
    samples = [rng.sample(pool, 100) for _ in range(rows)]
    result = union([sketch_of(s).to_bytes() for s in samples])
    seen = sorted({h for s in samples for h in s})
    assert result.is_sparse == sparse
    assert result.to_bytes() == reference_bytes(seen)


def test_union_of_nothing_and_of_empties_is_empty() -> None:
    assert union([]).to_bytes() == bytes([SPARSE_TAG])
    assert union([DistinctSketch(), DistinctSketch().to_bytes()]).estimate() == 0


def test_insertion_order_does_not_matter() -> None:
    for n in (300, 6000):
        hs = hashes(n, n)
        shuffled = hs[:]
        random.Random(0).shuffle(shuffled)
        assert sketch_of(hs).to_bytes() == sketch_of(shuffled).to_bytes()


# --- serialization ----------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 50, 4096, 4097, 30_000])
def test_round_trip(n: int) -> None:
    sketch = sketch_of(hashes(n, 3))
    blob = sketch.to_bytes()
    assert blob[0] == (SPARSE_TAG if n <= SPARSE_MAX_ENTRIES else DENSE_TAG)
    assert len(blob) == (1 + 4 * n if n <= SPARSE_MAX_ENTRIES else 1 + M)
    again = DistinctSketch.from_bytes(blob)
    assert again.to_bytes() == blob
    assert again.estimate() == sketch.estimate()


def entry(idx: int, rank: int) -> bytes:
    return (idx << 6 | rank).to_bytes(4, "big")


SPARSE = bytes([SPARSE_TAG])
MALFORMED = [
    b"",
    b"\x00",
    b"\x03" + bytes(8),  # unknown format tag
    SPARSE + b"\x00\x00\x01",  # truncated entry
    SPARSE + entry(5, 0),  # rank 0
    SPARSE + entry(5, 41),  # rank above 40
    SPARSE + b"\x80\x00\x00\x01",  # index wider than 25 bits
    bytes([DENSE_TAG]) + bytes(M - 1),  # truncated
    bytes([DENSE_TAG]) + bytes(M + 1),  # too long
    bytes([DENSE_TAG]) + bytes(M - 1) + b"\x33",  # register 51 > 50
]
NON_CANONICAL = [
    SPARSE + entry(9, 1) + entry(5, 1),  # unsorted
    SPARSE + entry(5, 1) + entry(5, 2),  # one index twice
    SPARSE + b"".join(entry(i, 1) for i in range(SPARSE_MAX_ENTRIES + 1)),  # should be dense
]


@pytest.mark.parametrize("blob", MALFORMED + NON_CANONICAL)
def test_corrupt_bytes_raise_value_error(blob: bytes) -> None:
    with pytest.raises(ValueError):
        DistinctSketch.from_bytes(blob)


@pytest.mark.parametrize("blob", MALFORMED)
def test_union_rejects_malformed_bytes(blob: bytes) -> None:
    with pytest.raises(ValueError):
        union([sketch_of(hashes(10, 1)), blob])


def test_union_accepts_non_canonical_sparse_bytes() -> None:
    # union re-sorts and de-duplicates anyway, so it does not spend time rejecting these
    assert union(NON_CANONICAL[:2]).to_bytes() == SPARSE + entry(5, 2) + entry(9, 1)


def test_every_truncation_is_rejected() -> None:
    dense = sketch_of(hashes(5000, 4)).to_bytes()
    sparse = sketch_of(hashes(40, 4)).to_bytes()
    for cut in range(len(dense)):
        with pytest.raises(ValueError):
            DistinctSketch.from_bytes(dense[:cut])
    for cut in range(len(sparse)):
        if cut and (cut - 1) % 4 == 0:
            continue  # dropping whole entries leaves a valid, smaller sketch
        with pytest.raises(ValueError):
            DistinctSketch.from_bytes(sparse[:cut])


def test_add_rejects_values_outside_64_bits() -> None:
    for bad in (-1, 1 << 64):
        with pytest.raises(ValueError):
            DistinctSketch().add(bad)
        with pytest.raises(ValueError):
            sketch_of(hashes(5000, 1)).update([0, bad])


def test_add_one_by_one_matches_reference() -> None:
    hs = hashes(6000, 8)
    sketch = DistinctSketch()
    for h in hs:
        sketch.add(h)
    assert sketch.to_bytes() == reference_bytes(hs)


def test_extreme_register_values() -> None:
    dense = bytes([DENSE_TAG])
    assert DistinctSketch.from_bytes(dense + bytes(M)).estimate() == 0
    assert DistinctSketch.from_bytes(dense + bytes([50]) * M).estimate() == 1 << 64
    typical = bytearray(sketch_of(hashes(50_000, 9)).to_bytes()[1:])
    before = DistinctSketch.from_bytes(dense + typical).estimate()
    typical[7] = 50  # one saturated register barely moves the estimate
    after = DistinctSketch.from_bytes(dense + typical).estimate()
    assert 0 <= after - before < 0.01 * before


# --- privacy ----------------------------------------------------------------------------------


def test_bytes_never_hold_visitor_ids_and_the_key_matters() -> None:
    key, other_key = b"a" * 32, b"b" * 32
    ids = [f"visitor-{i:06d}@example.org" for i in range(100)]
    sketch = sketch_of([visitor_hash(key, v) for v in ids])
    blob = sketch.to_bytes()
    assert all(v.encode() not in blob and v[:12].encode() not in blob for v in ids)
    assert visitor_hash(key, ids[0]) == visitor_hash(key, ids[0])
    assert visitor_hash(key, ids[0]) != visitor_hash(other_key, ids[0])
    assert all(0 <= visitor_hash(key, v) < 1 << 64 for v in ids)
    assert sketch_of([visitor_hash(other_key, v) for v in ids]).to_bytes() != blob


def test_merging_two_one_visitor_sketches_equals_the_general_union() -> None:
    from consentkit.analytics.sketch import encode_hashes
    from consentkit.analytics.sketch_arrays import merge_bytes

    rng = random.Random(17)
    for _ in range(5000):
        first = rng.getrandbits(64)
        second = rng.choice(
            [
                rng.getrandbits(64),
                (first >> 39 << 39) | rng.getrandbits(39),  # the same idx', another rank
                first ^ (1 << (39 + rng.randrange(3))),  # idx' differing in its lowest bits
                first,
            ]
        )
        a, b = encode_hashes({first}), encode_hashes({second})
        assert merge_bytes(a, b) == union((a, b)).to_bytes() == encode_hashes({first, second})


def _hash_sets(rng: random.Random, count: int) -> list[list[int]]:
    sizes = [0, 1, 1, 2, 3, 10, 300, 4096, 4097, 6000, 40_000]
    sets = []
    for g in range(count):
        n = rng.choice(sizes) if g % 7 == 0 else rng.choice([0, 1, 2, 3])
        # shifted hashes give long runs of leading zeros (high ranks) and shared idx'
        hashes = [rng.getrandbits(64) >> rng.choice([0, 0, 20, 45]) for _ in range(n)]
        sets.append(hashes + hashes[: n // 3])  # repeats, as returning visitors
    return sets


def test_batch_encoding_gives_the_bytes_of_encode_hashes_for_every_group() -> None:
    import numpy as np

    from consentkit.analytics.sketch import encode_hashes
    from consentkit.analytics.sketch_arrays import group_sketches

    sets = _hash_sets(random.Random(5), 120)
    groups = np.array([g for g, hashes in enumerate(sets) for _ in hashes], dtype=np.int64)
    hashes = np.array([h for s in sets for h in s], dtype=np.uint64)
    order = np.random.default_rng(5).permutation(len(groups))  # arrival order is irrelevant
    encoded = group_sketches(groups[order], hashes[order], len(sets))
    assert any(blob[0] == 2 for blob in encoded) and any(len(blob) == 1 for blob in encoded)
    for g, hashes_of_group in enumerate(sets):
        assert encoded[g] == encode_hashes(set(hashes_of_group)), g


def test_merging_serialised_sketches_equals_the_union_of_their_sets() -> None:
    from consentkit.analytics.sketch import encode_hashes
    from consentkit.analytics.sketch_arrays import merge_bytes

    rng = random.Random(9)
    sets = [s for s in _hash_sets(rng, 70) if s]
    for _ in range(60):
        first, second = rng.choice(sets), rng.choice(sets)
        merged = merge_bytes(encode_hashes(set(first)), encode_hashes(set(second)))
        assert merged == encode_hashes(set(first) | set(second))


@pytest.mark.parametrize(
    "bad",
    [
        b"",
        b"\x07abcd",
        b"\x01\xff\x00\x00\x01",
        b"\x01abc",
        b"\x01\x00\x00\x00\x00",
        b"\x02" + b"\x00" * 100,
        b"\x02" + b"\xff" * 32768,
    ],
)
def test_merging_a_corrupt_sketch_is_an_error_not_a_wrong_count(bad: bytes) -> None:
    from consentkit.analytics.sketch import encode_hashes
    from consentkit.analytics.sketch_arrays import merge_bytes

    good = encode_hashes({12345678901234567})
    for a, b in ((bad, good), (good, bad)):
        with pytest.raises(ValueError):
            merge_bytes(a, b)
