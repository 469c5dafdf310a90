"""A country database for the request-path benchmarks, as a real site configures one.

MaxMind's test databases (``../shared/testdata/geoip``) hold a few dozen networks, so most
lookups end at once; a real GeoLite2 Country database holds some 400,000 networks, a
lookup walks 16 to 24 levels below the IPv4 root and decodes a record with names in eight
languages. This one is built with ``mmdb-writer``: 223 x 64 IPv4 networks of a /14 each,
ten countries, in an IPv6 tree as GeoLite2 is, with GeoLite2's record shape (names in eight
languages): a lookup walks 14 levels and decodes as much as in the real file.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

CODES = ("DE", "FR", "US", "GB", "JP", "BR", "IN", "NL", "SE", "ES")
LANGUAGES = ("de", "en", "es", "fr", "ja", "pt-BR", "ru", "zh-CN")


def _names(name: str) -> dict[str, str]:
    return {language: f"{name} ({language})" for language in LANGUAGES}


@functools.cache
def country_database() -> Path:
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-Country")
    for first in range(1, 224):
        for second in range(0, 256, 4):
            code = CODES[(first * 7 + second) % len(CODES)]
            writer.insert_network(
                IPSet([f"{first}.{second}.0.0/14"]),
                {
                    "continent": {"code": "EU", "geoname_id": 6255148, "names": _names("Europe")},
                    "country": {"iso_code": code, "geoname_id": 2921044, "names": _names(code)},
                    "registered_country": {
                        "iso_code": code,
                        "geoname_id": 2921044,
                        "names": _names(code),
                    },
                },
            )
    path = Path(tempfile.mkdtemp()) / "countries.mmdb"
    writer.to_db_file(str(path))
    return path
