"""A MaxMind DB's search tree, walked to the record an address falls in.

``maxminddb`` answers an address with its whole record decoded into dicts (a GeoLite2
country record: the country, continent and registered country, each named in eight
languages), about 90,000 instructions, while a country database holds a few hundred
distinct records. ``SearchTree.record_of`` walks the database's binary search tree
(one bit of the address per node, as libmaxminddb does) to the record's position in the
data section, without decoding it: ``CountryLocator`` then decodes each distinct record
once, through ``maxminddb``, and remembers its country by that position.

The walk pays only compiled (``consentkit/compiled.py``): in Python it costs as much as
the decoding it saves, and ``CountryLocator`` does without it there (``WORTH_WALKING``).
The format: https://maxmind.github.io/MaxMind-DB/ (search tree section).
"""

from __future__ import annotations

import mmap

# Compiled, __file__ names the extension module: the walk is worth it there only.
WORTH_WALKING = not __file__.endswith(".py")


class SearchTree:
    """The search tree of a MaxMind DB file, memory-mapped (read-only, shared with the
    page cache) and walked without decoding anything."""

    def __init__(self, path: str, *, nodes: int, record_size: int, ip_version: int) -> None:
        if record_size not in (24, 28, 32):
            raise ValueError(f"a MaxMind DB record size of {record_size} bits is not one")
        self.nodes = nodes
        self.record_size = record_size
        self.node_size = record_size // 4  # two records: 6, 7 or 8 bytes
        with open(path, "rb") as file:
            self._map = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        if len(self._map) < nodes * self.node_size:
            self._map.close()
            raise ValueError("the search tree is larger than the file")
        self._tree = memoryview(self._map)  # (unmapped when the tree is dropped)
        self.ip_version = ip_version
        # IPv4 addresses in an IPv6 tree start where the first 96 bits (all zero) lead.
        self.ipv4_start = 0
        if ip_version == 6:
            node = 0
            for _ in range(96):
                if node >= nodes:
                    break
                node = self._child(node, 0)
            self.ipv4_start = node

    def _child(self, node: int, bit: int) -> int:
        """The left (``bit`` 0) or right record of a node (big-endian; a 28-bit record
        keeps its high four bits in the node's middle byte)."""
        tree = self._tree
        offset = node * self.node_size
        if self.record_size == 28:
            middle = tree[offset + 3]
            high = (middle & 0x0F) if bit else (middle >> 4)
            offset += bit * 4
        elif self.record_size == 24:
            offset += bit * 3
            high = 0
        else:
            offset += bit * 4
            high = tree[offset]
            offset += 1
        return high << 24 | tree[offset] << 16 | tree[offset + 1] << 8 | tree[offset + 2]

    def record_of(self, packed: bytes) -> int:
        """Where the record of an address (4 or 16 bytes, as ``inet_pton`` gives it) is:
        a number above ``nodes``, the same for every address of the same record; 0 when
        the database has no record for it (or holds no IPv6 and is asked for it)."""
        nodes = self.nodes
        size = len(packed)
        if size == 4:
            node = self.ipv4_start
        elif size == 16 and self.ip_version == 6:
            node = 0
        else:
            return 0
        i = 0
        bits = size * 8
        while i < bits and node < nodes:
            byte = packed[i >> 3]
            node = self._child(node, (byte >> (7 - (i & 7))) & 1)
            i += 1
        return node if node > nodes else 0
