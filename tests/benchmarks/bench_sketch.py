"""Time the distinct-count sketch: ``python tests/benchmarks/bench_sketch.py``.

Not collected by pytest (tests/benchmarks is in norecursedirs); prints one table.
"""

from __future__ import annotations

import random
import sys
import timeit
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from consentkit.analytics.sketch import DistinctSketch, union


def best(fn: Callable[[], object], number: int) -> float:
    """Best-of-5 seconds per call."""
    return min(timeit.repeat(fn, number=number, repeat=5)) / number


def sketch_of(hashes: list[int]) -> DistinctSketch:
    sketch = DistinctSketch()
    sketch.update(hashes)
    return sketch


def main() -> None:
    rng = random.Random(2024)
    rows: list[tuple[str, float, str]] = []

    hashes = [rng.getrandbits(64) for _ in range(100_000)]
    small = hashes[:3000]

    def add_each(sketch: DistinctSketch, hs: list[int]) -> None:
        for h in hs:
            sketch.add(h)

    rows.append(
        (
            "add, sparse (per hash)",
            best(lambda: add_each(DistinctSketch(), small), 20) / len(small),
            "3,000 adds",
        )
    )
    warm = sketch_of(hashes[:5000])
    rows.append(
        (
            "add, dense (per hash)",
            best(lambda: add_each(warm, hashes), 3) / len(hashes),
            "100,000 adds",
        )
    )
    rows.append(("update 100,000 (sparse -> dense)", best(lambda: sketch_of(hashes), 3), ""))

    sparse, dense = sketch_of(small), sketch_of(hashes)
    rows.append(("to_bytes sparse (3,000)", best(sparse.to_bytes, 200), "12 KB"))
    rows.append(("to_bytes dense", best(dense.to_bytes, 2000), "32 KB"))
    sparse_b, dense_b = sparse.to_bytes(), dense.to_bytes()
    rows.append(
        ("from_bytes sparse (3,000)", best(lambda: DistinctSketch.from_bytes(sparse_b), 200), "")
    )
    rows.append(("from_bytes dense", best(lambda: DistinctSketch.from_bytes(dense_b), 2000), ""))

    # 2,000 cube rows of 5-50 visitors each: all distinct (-> dense), or drawn from a pool
    # of 2,000 returning visitors (-> the union stays sparse).
    distinct_rows = [
        sketch_of([rng.getrandbits(64) for _ in range(rng.randint(5, 50))]).to_bytes()
        for _ in range(2000)
    ]
    pool = [rng.getrandbits(64) for _ in range(2000)]
    pooled_rows = [sketch_of(rng.sample(pool, rng.randint(5, 50))).to_bytes() for _ in range(2000)]
    entries = sum(len(b) - 1 for b in distinct_rows) // 4
    rows.append(
        (
            "union 2,000 sparse rows -> dense",
            best(lambda: union(distinct_rows), 5),
            f"{entries:,} entries",
        )
    )
    rows.append(
        (
            "union 2,000 sparse rows -> sparse",
            best(lambda: union(pooled_rows), 5),
            f"{union(pooled_rows).estimate():,} distinct",
        )
    )
    objs = [DistinctSketch.from_bytes(b) for b in distinct_rows]
    rows.append(("union 2,000 sparse objects", best(lambda: union(objs), 5), ""))

    dense_rows = [
        sketch_of([rng.getrandbits(64) for _ in range(5000)]).to_bytes() for _ in range(200)
    ]
    rows.append(("union 200 dense rows", best(lambda: union(dense_rows), 5), "SWAR big-int max"))
    a, b = dense_rows[0][1:], dense_rows[1][1:]
    rows.append(
        ("  baseline bytes(map(max, a, b))", best(lambda: bytes(map(max, a, b)), 50), "one pair")
    )
    one, two = DistinctSketch.from_bytes(dense_rows[0]), DistinctSketch.from_bytes(dense_rows[1])
    rows.append(("  merge dense + dense (one pair)", best(lambda: one.merge(two), 200), ""))
    rows.append(("estimate dense", best(dense.estimate, 500), "Ertl improved raw"))
    rows.append(("estimate sparse (3,000)", best(sparse.estimate, 20000), "linear counting"))

    print(f"{'operation':38} {'time':>12}  note")
    print("-" * 72)
    for name, seconds, note in rows:
        shown = f"{seconds * 1e3:.3f} ms" if seconds >= 1e-4 else f"{seconds * 1e6:.2f} us"
        print(f"{name:38} {shown:>12}  {note}")


if __name__ == "__main__":
    main()
