"""The walk of a MaxMind DB's search tree (``consentkit/visit/mmdb.py``) against maxminddb.

Compiled, the country of an address comes from the record position the walk finds (each
distinct record decoded once); these tests hold it to maxminddb's own answer on every
database at hand: record sizes of 24, 28 and 32 bits, IPv6 and IPv4-only trees, a broken
tree, the GeoLite2-shaped database of the benchmarks, and MaxMind's test databases.
"""

from __future__ import annotations

import ipaddress
import itertools
import random
import socket
import sys
from pathlib import Path

import maxminddb
import pytest
from support import SHARED_GEOIP

from consentkit.visit import mmdb
from consentkit.visit.geoip import CountryLocator, _iso_code, search_tree

sys.path.insert(0, str(Path(__file__).parent / "benchmarks"))


def _build(path: Path, record_size: int | None, ip_version: int = 6) -> Path:
    from mmdb_writer import MMDBWriter, TreeWriter
    from netaddr import IPSet

    writer = MMDBWriter(ip_version=ip_version, ipv4_compatible=ip_version == 6,
                        database_type="GeoLite2-Country")  # fmt: skip
    rng = random.Random(7)
    codes = ["DE", "FR", "NL", "JP", "BR", "US", "KE", "IN"]
    for n in range(300):
        first, second, third = rng.randint(1, 223), rng.randint(0, 255), rng.randint(0, 255)
        network = f"{first}.{second}.{third}.0/{rng.choice([8, 16, 20, 24, 28])}"
        writer.insert_network(IPSet([network]), {"country": {"iso_code": codes[n % 8]}})
    if ip_version == 6:
        for n in range(100):
            network = f"2001:db8:{rng.getrandbits(16):x}::/{rng.choice([32, 40, 48, 56])}"
            record = {"registered_country": {"iso_code": codes[n % 8]}}
            writer.insert_network(IPSet([network]), record)
    if record_size is None:
        writer.to_db_file(str(path))
        return path
    original = TreeWriter._adjust_record_size

    def forced(self: TreeWriter) -> None:
        original(self)
        self.record_size = record_size
        self.data_offset = record_size * 2 / 8 * self._node_counter

    TreeWriter._adjust_record_size = forced  # type: ignore[method-assign]
    try:
        writer.to_db_file(str(path))
    finally:
        TreeWriter._adjust_record_size = original  # type: ignore[method-assign]
    return path


def _databases(tmp_path: Path) -> list[Path]:
    from geo_data import country_database

    found = [
        _build(tmp_path / "v6-24.mmdb", 24),
        _build(tmp_path / "v6-28.mmdb", 28),
        _build(tmp_path / "v6-32.mmdb", 32),
        _build(tmp_path / "v4.mmdb", None, ip_version=4),
        country_database(),
    ]
    found += sorted(SHARED_GEOIP.glob("*.mmdb"))
    return found


def _addresses(reader: maxminddb.Reader) -> list[str]:
    rng = random.Random(11)
    found = [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(1500)]
    found += [str(ipaddress.IPv6Address(rng.getrandbits(128))) for _ in range(300)]
    found += [f"2001:db8:{rng.getrandbits(16):x}::{rng.getrandbits(16):x}" for _ in range(300)]
    found += ["81.2.69.142", "::ffff:81.2.69.142", "2002:5102:458e::1", "2.125.160.217", "::1",
              "::", "0.0.0.0", "255.255.255.255", "2a02:d280::1", "89.160.20.112"]  # fmt: skip
    # addresses of the database's own networks (as far as a broken tree lists them)
    try:
        for network, _ in itertools.islice(reader, 400):
            found.append(str(network.network_address))
            found.append(str(network.broadcast_address))
    except maxminddb.InvalidDatabaseError:
        pass
    return found


def test_the_walk_finds_the_record_maxminddb_decodes(tmp_path: Path) -> None:
    """Every address: a record position where maxminddb has a record and 0 where it has
    none, the same position for the same record, and the same country."""
    databases = _databases(tmp_path)
    sizes = set()
    for path in databases:
        reader = maxminddb.open_database(str(path))
        tree = search_tree(str(path), reader)
        assert tree is not None, path
        sizes.add(tree.record_size)
        records: dict[int, object] = {}
        for address in _addresses(reader):
            try:
                record = reader.get(address)
            except (ValueError, maxminddb.InvalidDatabaseError):
                record = None
            packed = socket.inet_pton(socket.AF_INET6 if ":" in address else socket.AF_INET,
                                      address)  # fmt: skip
            position = tree.record_of(packed)
            assert (position > 0) == (record is not None), (path.name, address)
            if position:
                assert records.setdefault(position, record) == record, (path.name, address)
        reader.close()
    assert sizes == {24, 28, 32}


def test_the_country_of_an_address_is_maxminddbs_compiled_or_not(tmp_path: Path) -> None:
    for path in _databases(tmp_path):
        if "broken" in path.name:
            continue  # not a country database: refused at start-up (test_derivation.py)
        locator = CountryLocator(database=path)
        assert (locator.tree is not None) == mmdb.WORTH_WALKING
        reader = maxminddb.open_database(str(path))
        for address in _addresses(reader):
            try:
                expected = _iso_code(reader.get(address))
            except (ValueError, maxminddb.InvalidDatabaseError):
                expected = "ZZ"
            assert locator.from_ip(address) == expected, (path.name, address)
            assert locator.from_ip(address) == expected  # remembered, the same
        reader.close()
        locator.close()
    assert CountryLocator(database=None).from_ip("81.2.69.142") == "ZZ"


def test_a_record_size_that_is_not_one_is_refused(tmp_path: Path) -> None:
    path = _build(tmp_path / "v6.mmdb", None)
    with pytest.raises(ValueError, match="record size"):
        mmdb.SearchTree(str(path), nodes=10, record_size=20, ip_version=6)
    with pytest.raises(ValueError, match="larger than the file"):
        mmdb.SearchTree(str(path), nodes=10**9, record_size=24, ip_version=6)


@pytest.mark.parametrize(
    ("record_size", "node", "left", "right"),
    [(24, "abcdef123456", 0xABCDEF, 0x123456),
     (28, "bcdef1a5432100", 0x0ABCDEF1, 0x05432100),
     (32, "fedcba9801234567", 0xFEDCBA98, 0x01234567)],
)  # fmt: skip
def test_each_record_size_is_read_bit_for_bit(tmp_path, record_size, node, left, right):
    """A one-node tree whose records use every bit of their size (the databases above,
    small, leave the high bits at zero): the left record for a first bit of 0, the right
    one for 1. A 28-bit record keeps its high four bits in the node's middle byte."""
    path = tmp_path / f"one-node-{record_size}.mmdb"
    path.write_bytes(bytes.fromhex(node) + bytes(16))
    tree = mmdb.SearchTree(str(path), nodes=1, record_size=record_size, ip_version=4)
    assert tree.record_of(socket.inet_pton(socket.AF_INET, "1.2.3.4")) == left
    assert tree.record_of(socket.inet_pton(socket.AF_INET, "128.0.0.1")) == right
    assert tree.record_of(socket.inet_pton(socket.AF_INET6, "::1")) == 0  # an IPv4 tree
