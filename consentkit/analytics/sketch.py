"""Mergeable distinct-count sketch (HyperLogLog++ style) for unique visitors.

Each analytics cube row keeps one sketch and a query unions the rows it selects.  A sketch sees
only a keyed 64-bit hash of a visitor ID and keeps only an index and a leading-zero rank of it.

``to_bytes()`` starts with a format tag:

* ``0x01`` SPARSE: sorted big-endian uint32 entries ``idx' << 6 | rank``: ``idx'`` is the top 25
  bits of the hash, ``rank`` (1..40) the leading zeros of the other 39 bits plus one; one entry
  per ``idx'``, with its largest rank.  Estimated by linear counting over 2**25 buckets.
* ``0x02`` DENSE: 2**15 one-byte registers (0..50), estimated with Otmar Ertl's improved raw
  estimator (arXiv:1702.01284): no bias tables, accurate over the whole range.

A sketch is a pure function of its set of hashes: same set, same bytes, in any order.
"""

from __future__ import annotations

import hashlib
import math
import sys
from array import array
from collections.abc import Collection, Iterable
from itertools import repeat
from operator import lt, rshift

__all__ = ["DistinctSketch", "encode_hashes", "union", "visitor_hash"]

SPARSE_TAG, DENSE_TAG = 0x01, 0x02  # format (and version) tags
_SPARSE_B, _DENSE_B = bytes([SPARSE_TAG]), bytes([DENSE_TAG])
_M, _SM = 1 << 15, 1 << 25  # dense registers, sparse buckets
_Q, _SQ = 64 - 15, 64 - 25  # hash bits below each index: ranks are 1..50 and 1..40
# More than 4096 entries (16 KiB, half the 32 KiB dense form) go dense: a sparse row is never
# over half a dense one, linear counting still rounds to the exact bucket count (its collision
# term k*k / 2**26 stays under 0.5), and per-entry Python work in sparse merges stays bounded.
SPARSE_MAX_ENTRIES = 4096

if array("I").itemsize != 4:  # pragma: no cover - 4 on every platform CPython supports today
    raise ImportError("consentkit.sketch needs a 4-byte array('I')")
_SWAP = sys.byteorder == "little"  # big-endian on disk, so the bytes sort like the entries
_HIGH = int.from_bytes(b"\x80" * _M, "big")
# s.translate(None, ok) deletes the allowed bytes: anything left over is corrupt.
_HIGH_OK = bytes(range(0x80))  # entries are 31-bit
_RANK_OK = bytes(b for b in range(256) if 1 <= b & 63 <= _SQ + 1)
_REG_OK = bytes(range(_Q + 2))
# The dense rank of a sparse entry depends on its low 16 bits: the 10 idx' bits below the dense
# index (byte 2 and the top of byte 3) and the 6-bit rank.  Tabulated per byte for translate().
_FROM_B2 = bytes([0] + [9 - b.bit_length() for b in range(1, 256)])
_B2_ZERO = bytes([0x7F] + [0] * 255)  # byte 2 zero: the rank comes from byte 3
_FROM_B3 = bytes(11 - (b >> 6).bit_length() if b >> 6 else 10 + (b & 63) for b in range(256))


def visitor_hash(key: bytes, visitor_id: str) -> int:
    """Return the 64-bit keyed BLAKE2b hash of ``visitor_id``, the only thing a sketch sees."""
    digest = hashlib.blake2b(visitor_id.encode("utf-8"), key=key, digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _unpack(body: bytes) -> array[int]:
    entries = array("I")
    entries.frombytes(body)
    if _SWAP:
        entries.byteswap()
    return entries


def _pack(entries: Iterable[int]) -> bytes:
    packed = array("I", entries)
    if _SWAP:
        packed.byteswap()
    return packed.tobytes()


def check_sparse(body: bytes) -> None:
    """ValueError unless ``body`` (a sparse sketch without its tag) holds valid entries."""
    if len(body) % 4 or body[::4].translate(None, _HIGH_OK) or body[3::4].translate(None, _RANK_OK):
        raise ValueError("corrupt sparse sketch")


def check_dense(blob: bytes) -> None:
    """ValueError unless ``blob`` is a whole dense sketch with valid registers."""
    # The tag 0x02 is a valid register value too, so the whole blob is checked in one go.
    if len(blob) != _M + 1 or blob.translate(None, _REG_OK):
        raise ValueError("corrupt dense sketch")


def _registers(body: bytes) -> bytearray:
    """Dense registers from big-endian sparse entries (any order, duplicates allowed)."""
    halves = array("H")  # even halves are the dense index (the top 16 bits of each entry)
    halves.frombytes(body)
    if _SWAP:
        halves.byteswap()
    b2, b3 = body[2::4], body[3::4]
    from_b3 = int.from_bytes(b3.translate(_FROM_B3), "big")
    from_b3 &= int.from_bytes(b2.translate(_B2_ZERO), "big")
    ranks = (int.from_bytes(b2.translate(_FROM_B2), "big") | from_b3).to_bytes(len(b2), "big")
    regs = bytearray(_M)
    for i, r in zip(halves[::2], ranks, strict=True):  # only the max-update runs in Python
        if r > regs[i]:
            regs[i] = r
    return regs


def _max_registers(x: int, y: int) -> int:
    """Byte-wise max of two register vectors held as big ints (~40x ``bytes(map(max, ..))``)."""
    # Registers are < 0x80, so (x | 0x80) - y never borrows across bytes and its top bit says
    # x >= y; that bit becomes a 0x7F byte mask selecting x's bytes.
    ge = ((x | _HIGH) - y) & _HIGH
    return y ^ ((x ^ y) & (ge - (ge >> 7)))


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y, z, z_old = 1.0, x, -1.0
    while z != z_old:
        x *= x
        z_old, z, y = z, z + x * y, y + y
    return z


def _tau(x: float) -> float:
    if x in (0.0, 1.0):
        return 0.0
    y, z, z_old = 1.0, 1.0 - x, -1.0
    while z != z_old:
        x, y = math.sqrt(x), y * 0.5
        z_old, z = z, z - (1.0 - x) ** 2 * y
    return z / 3.0


class DistinctSketch:
    """Distinct-count sketch of 64-bit hashes: sparse up to 4096 entries, then dense."""

    __slots__ = ("_regs", "_sparse")

    def __init__(self) -> None:
        """Create an empty (sparse) sketch."""
        self._sparse: dict[int, int] = {}  # idx' -> its entry with the largest rank
        self._regs: bytearray | None = None  # once dense (and _sparse is then empty)

    @property
    def is_sparse(self) -> bool:
        """True while the sketch uses the sparse representation."""
        return self._regs is None

    def add(self, h: int) -> None:
        """Add one 64-bit hash (see :func:`visitor_hash`); ValueError outside 0..2**64-1."""
        if h >> 64:  # non-zero for negative h too
            raise ValueError("a hash must be an unsigned 64-bit int")
        regs = self._regs
        if regs is not None:
            i, r = h >> _Q, _Q + 1 - (h & ((1 << _Q) - 1)).bit_length()
            if r > regs[i]:
                regs[i] = r
            return
        idx = h >> _SQ
        entry = idx << 6 | (_SQ + 1 - (h & ((1 << _SQ) - 1)).bit_length())
        if entry > self._sparse.get(idx, 0):
            self._sparse[idx] = entry
            if len(self._sparse) > SPARSE_MAX_ENTRIES:
                self._regs, self._sparse = self._dense_copy(), {}

    def update(self, hashes: Iterable[int]) -> None:
        """Add many 64-bit hashes."""
        it = iter(hashes)
        for h in it:
            self.add(h)
            if self._regs is not None:
                break
        regs, mask = self._regs, (1 << _Q) - 1
        if regs is None:
            return
        for h in it:  # add() inlined for the dense case: it is the hot loop of big batches
            if h >> 64:
                raise ValueError("a hash must be an unsigned 64-bit int")
            i, r = h >> _Q, _Q + 1 - (h & mask).bit_length()
            if r > regs[i]:
                regs[i] = r

    def merge(self, other: DistinctSketch) -> None:
        """Union ``other`` into this sketch in place."""
        if self._regs is None and other._regs is None:
            mine = self._sparse
            for idx, entry in other._sparse.items():
                if entry > mine.get(idx, 0):
                    mine[idx] = entry
            if len(mine) > SPARSE_MAX_ENTRIES:
                self._regs, self._sparse = self._dense_copy(), {}
            return
        x = int.from_bytes(self._regs if self._regs is not None else self._dense_copy(), "big")
        y = int.from_bytes(other._regs if other._regs is not None else other._dense_copy(), "big")
        self._regs, self._sparse = bytearray(_max_registers(x, y).to_bytes(_M, "big")), {}

    def estimate(self) -> int:
        """Estimated number of distinct hashes added (exact for small sparse sketches)."""
        if self._regs is None:  # linear counting; log1p keeps it exact for small counts
            return round(-_SM * math.log1p(-len(self._sparse) / _SM))
        regs, counts, left = self._regs, [0] * (_Q + 2), _M
        for k in range(_Q + 2):  # bytearray.count runs in C; stop once all registers are seen
            if not left:
                break
            counts[k] = regs.count(k)
            left -= counts[k]
        z = _M * _tau(1.0 - counts[_Q + 1] / _M)
        for k in range(_Q, 0, -1):
            z = 0.5 * (z + counts[k])
        z += _M * _sigma(counts[0] / _M)
        # z is 0 only if every register is saturated: a count far beyond 2**64.
        return round(_M * _M / (2.0 * math.log(2.0) * z)) if z else 1 << 64

    def to_bytes(self) -> bytes:
        """Serialize: the tag, then sorted big-endian entries or the 32768 registers."""
        if self._regs is not None:
            return _DENSE_B + self._regs
        return _SPARSE_B + _pack(sorted(self._sparse.values()))

    @classmethod
    def from_bytes(cls, b: bytes) -> DistinctSketch:
        """Parse :meth:`to_bytes` output; ValueError if it is corrupt, truncated or unknown."""
        b, sketch = bytes(b), cls()
        if b[:1] == _DENSE_B:
            check_dense(b)
            sketch._regs = bytearray(b[1:])
        elif b[:1] == _SPARSE_B:
            check_sparse(b[1:])
            entries = _unpack(b[1:])
            idxs = list(map(rshift, entries, repeat(6)))
            # Canonical only: idx' strictly increasing (so unique), no more entries than allowed.
            if len(idxs) > SPARSE_MAX_ENTRIES or not all(map(lt, idxs, idxs[1:])):
                raise ValueError("corrupt sparse sketch")
            sketch._sparse = dict(zip(idxs, entries, strict=True))
        else:
            raise ValueError(f"unknown sketch format tag {b[:1]!r}")
        return sketch

    def _dense_copy(self) -> bytearray:
        return _registers(_pack(self._sparse.values()))


def _sparse_sketch(entries: Iterable[int]) -> DistinctSketch:
    """Sparse sketch of raw entries, in any order (may hold more than SPARSE_MAX_ENTRIES)."""
    ordered = sorted(set(entries))
    sketch = DistinctSketch()
    # Each key keeps its first (sorted) position and its last value, i.e. its largest entry.
    sketch._sparse = dict(zip(map(rshift, ordered, repeat(6)), ordered, strict=True))
    return sketch


def _dense_sketch(regs: bytes | bytearray) -> DistinctSketch:
    sketch = DistinctSketch()
    sketch._regs = bytearray(regs)
    return sketch


def union(sketches: Iterable[DistinctSketch | bytes]) -> DistinctSketch:
    """Union sketches and/or their ``to_bytes()`` forms into a new sketch.

    Built for query time over thousands of rows: serialized sparse rows are not parsed one by
    one but concatenated and decoded in bulk, and dense rows are max-merged as big ints.  Bytes
    get the checks of :meth:`DistinctSketch.from_bytes` (ValueError) except entry order and
    uniqueness, which the union does not rely on.
    """
    bodies: list[bytes] = []
    loose: list[int] = []  # entries of sparse objects, packed once rather than per object
    dense: int | None = None
    for s in sketches:
        if isinstance(s, DistinctSketch):
            if s._regs is None:
                loose.extend(s._sparse.values())
                continue
            regs = int.from_bytes(s._regs, "big")
        elif s[:1] == _SPARSE_B:
            bodies.append(s[1:])
            continue
        elif s[:1] == _DENSE_B:
            check_dense(s)
            regs = int.from_bytes(memoryview(s)[1:], "big")
        else:
            raise ValueError(f"unknown sketch format tag {s[:1]!r}")
        dense = regs if dense is None else _max_registers(dense, regs)
    body = b"".join(bodies)
    check_sparse(body)
    body += _pack(loose)
    if dense is None:
        entries = _unpack(body)
        sample = entries[::8]
        # Speed only, same result: unless a 1-in-8 sample repeats itself (returning visitors,
        # so it holds most distinct entries) and holds few, try the dense way first.
        if len(entries) > SPARSE_MAX_ENTRIES and 2 * len(set(sample)) > min(
            len(sample), 2 * SPARSE_MAX_ENTRIES
        ):
            regs_hit = _registers(body)
            # Distinct idx' >= registers hit, so only few hit registers can leave it sparse.
            if _M - regs_hit.count(0) > SPARSE_MAX_ENTRIES:
                return _dense_sketch(regs_hit)
        sketch = _sparse_sketch(entries)
        if len(sketch._sparse) <= SPARSE_MAX_ENTRIES:
            return sketch
        return _dense_sketch(_registers(_pack(sketch._sparse.values())))
    if body:
        dense = _max_registers(dense, int.from_bytes(_registers(body), "big"))
    return _dense_sketch(dense.to_bytes(_M, "big"))


def _sparse_bytes(entries: Iterable[int]) -> bytes:
    # One entry per idx' with its largest rank: entries sort by idx' then rank, so the last
    # entry of each idx' run wins.
    best: dict[int, int] = {}
    for entry in sorted(entries):
        best[entry >> 6] = entry
    return _SPARSE_B + _pack(best.values())


def encode_hashes(hashes: Collection[int]) -> bytes:
    """``to_bytes()`` of the sketch of these hashes, fast for the few of one cube cell."""
    low = (1 << _SQ) - 1
    if len(hashes) == 1:  # most cube cells: one visitor
        (h,) = hashes
        return _SPARSE_B + ((h >> _SQ) << 6 | (_SQ + 1 - (h & low).bit_length())).to_bytes(4, "big")
    if len(hashes) > SPARSE_MAX_ENTRIES:
        sketch = DistinctSketch()
        sketch.update(hashes)
        return sketch.to_bytes()
    return _sparse_bytes((h >> _SQ) << 6 | (_SQ + 1 - (h & low).bit_length()) for h in hashes)
