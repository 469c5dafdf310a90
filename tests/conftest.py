"""pytest's fixtures and hooks: the apps the tests visit, the stores they run on, and the
small GeoIP databases they need (shared helpers live in ``support.py``).

Every test goes through the real ASGI stack (httpx against the app, lifespan running) and
a real SQLite file. Tests marked ``every_store`` run once per backend: their ``store_url``
is a SQLite file, then a fresh schema of its own in the PostgreSQL database at
``CONSENTKIT_TEST_POSTGRES`` (default ``postgresql://postgres@127.0.0.1:5432/test``); they
skip when PostgreSQL is not reachable. Set CONSENTKIT_REQUIRE_ALL=1 (CI does) to turn any
skip into a failure.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from support import CATEGORIES, POSTGRES_URL, ROUTES, SECRET, SHARED_GEOIP, STORES, postgres_schema

from consentkit import ConsentMiddleware

pytest_plugins = ["browser_support"]


REQUIRE_ALL = os.environ.get("CONSENTKIT_REQUIRE_ALL") == "1"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_ALL and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped while CONSENTKIT_REQUIRE_ALL=1: {report.longrepr}"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "every_store: run once per store backend, through the store_url fixture"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store_url" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
        "every_store"
    ):
        metafunc.parametrize("store_url", STORES, indirect=True)


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Any]:
    """An autocommit connection to the test database; a skip when it cannot be reached."""
    try:
        import psycopg
    except ImportError:
        pytest.skip("psycopg is not installed: pip install -e '.[test]'")
    try:
        connection = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL}: {error}")
    yield connection
    connection.close()


@pytest.fixture
def postgres_url(postgres_admin: Any) -> Iterator[str]:
    with postgres_schema(postgres_admin) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'consentkit.sqlite3'}"


@pytest.fixture
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A SQLite file, or with ``every_store`` each backend in turn."""
    if getattr(request, "param", "sqlite") == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return str(request.getfixturevalue("sqlite_url"))


@pytest.fixture
def make_site(store_url: str, tmp_path: Path) -> Callable[..., Starlette]:
    def build(**options: Any) -> Starlette:
        settings: dict[str, Any] = {
            "secret_key": SECRET,
            "store": store_url,
            "categories": CATEGORIES,
            "policy_version": "2026-11",
            "flush_interval": 0.05,
        }
        if not store_url.startswith("sqlite:"):  # not the working directory's spool
            settings["decision_spool"] = str(tmp_path / "spool.sqlite3")
        settings.update(options)
        app = Starlette(routes=ROUTES)
        app.add_middleware(ConsentMiddleware, **settings)
        return app

    return build


@pytest.fixture
def country_db(tmp_path: Path) -> Path:
    """A small country database built for the tests (mmdb-writer)."""
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(
        ip_version=6,
        ipv4_compatible=True,
        database_type="GeoLite2-Country",
        languages=["en"],
        description="consentkit test countries",
    )
    networks = {
        "203.0.113.0/24": "DE",
        "198.51.100.0/24": "FR",
        "192.0.2.0/24": "NL",
        "2001:db8::/32": "JP",
    }
    for network, code in networks.items():
        writer.insert_network(IPSet([network]), {"country": {"iso_code": code}})
    path = tmp_path / "countries.mmdb"
    writer.to_db_file(str(path))
    return path


@pytest.fixture
def maxmind_dir() -> Path:
    if not (SHARED_GEOIP / "GeoLite2-Country-Test.mmdb").exists():
        pytest.skip(f"MaxMind's test databases are not at {SHARED_GEOIP}")
    return SHARED_GEOIP
