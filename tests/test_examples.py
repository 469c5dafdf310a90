"""The examples under examples/, served by uvicorn in a subprocess as their users run them,
visited over real HTTP.

Each example starts once for this module; its tests run in the order below, and the last
one stops it (SIGTERM) to check that the shutdown flush counted every page by its route
template.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from server_process import ServerProcess, uvicorn

from consentkit import open_store

ROOT = Path(__file__).resolve().parents[1]
DJANGO_SITE = ROOT / "examples" / "django_site"
PAGES = {"metrics": ["pageviews"], "dimensions": ["event:page"], "date_range": "all"}


@dataclass(frozen=True)
class Example:
    target: str  # as given to uvicorn
    app_dir: Path
    item_template: str  # what /items/1 counts as
    slash: str = ""  # Django's URLs end with one


EXAMPLES = {
    "starlette": Example("examples.starlette_app:app", ROOT, "/items/{item_id}"),
    "fastapi": Example("examples.fastapi_app:app", ROOT, "/items/{item_id}"),
    "litestar": Example("examples.litestar_app:app", ROOT, "/items/{item_id}"),
    "quart": Example("examples.quart_app:app", ROOT, "/items/{item_id}"),
    "django": Example("mysite.asgi:application", DJANGO_SITE, "/items/{item_id}/", slash="/"),
}


@dataclass
class Site:
    example: Example
    server: ServerProcess
    store_url: str
    data: Path  # the server's working directory, where its store lives

    def browser(self) -> httpx.Client:
        """A visitor with a cookie jar, whose posts come from the site's own pages."""
        return httpx.Client(base_url=self.server.url, headers={"Origin": self.server.url})

    def path(self, path: str) -> str:
        return path + self.example.slash


@pytest.fixture(scope="module", params=list(EXAMPLES))
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    example = EXAMPLES[request.param]
    folder = tmp_path_factory.mktemp(request.param)
    data = folder / "data"
    data.mkdir()
    store_url = f"sqlite:///{data / 'consentkit.sqlite3'}"
    env = {"CONSENTKIT_SECRET": secrets.token_urlsafe(32), "CONSENTKIT_STORE": store_url}
    server = uvicorn(
        example.target, app_dir=example.app_dir, cwd=data, env=env, log_file=folder / "server.log"
    )
    with server:
        yield Site(example, server, store_url, data)


def set_cookies(response: httpx.Response) -> set[str]:
    return {header.split("=", 1)[0] for header in response.headers.get_list("set-cookie")}


def test_the_marketing_cookie_waits_for_consent(site: Site) -> None:
    with site.browser() as browser:
        before = browser.get(site.path("/marketing"))
        assert before.status_code == 200
        assert "_fbp" not in set_cookies(before)
        accepted = browser.post("/consentkit/consent", json={"action": "accept_all"})
        assert accepted.status_code == 200, accepted.text
        after = browser.get(site.path("/marketing"))
        assert "_fbp" in set_cookies(after)


def test_the_home_page_has_the_banner_and_a_gated_script_and_varies_on_cookie(site: Site) -> None:
    with site.browser() as browser:
        home = browser.get("/")
        assert home.status_code == 200
        assert "cookie" in home.headers["vary"].lower()
        assert '<script src="/consentkit/banner.js' in home.text
        assert '<script type="text/plain" data-category="analytics" data-src=' in home.text
        assert browser.get("/consentkit/banner.js").status_code == 200
        gated = browser.get("/analytics.js")
        assert gated.headers["content-type"].startswith("text/javascript")
        item = browser.get(site.path("/items/1"))
        assert "cookie" in item.headers["vary"].lower()


def test_a_handler_reads_the_visitors_consent(site: Site) -> None:
    with site.browser() as browser:
        state = browser.get(site.path("/consent-state")).json()
        assert (state["decided"], state["analytics"]) == (False, False)
        browser.post("/consentkit/consent", json={"action": "custom", "categories": ["analytics"]})
        state = browser.get(site.path("/consent-state")).json()
        assert (state["decided"], state["analytics"], state["marketing"]) == (True, True, False)


def test_pages_are_counted_by_route_template_and_flushed_at_shutdown(site: Site) -> None:
    with site.browser() as browser:
        browser.post("/consentkit/consent", json={"action": "accept_all"})
        for item in (1, 2, 1):
            assert browser.get(site.path(f"/items/{item}")).status_code == 200
    # at once: the counts are still buffered (flushed about once a second) when it stops
    site.server.stop()
    assert site.server.stopped_cleanly(), site.server.log()

    store = open_store(site.store_url)
    try:
        pages = {row["dimensions"][0]: row["metrics"][0] for row in store.query(PAGES)["results"]}
    finally:
        store.close()
    assert pages[site.example.item_template] == 3
    assert [page for page in pages if page.startswith("/items/")] == [site.example.item_template]
    files = [path for path in site.data.rglob("*") if path.is_file()]
    assert "consentkit.sqlite3" in {path.name for path in files}
    stored = b"".join(path.read_bytes() for path in files)
    assert b"/items/1" not in stored and b"/items/2" not in stored


def test_django_under_wsgi_says_it_needs_asgi() -> None:
    """Served as WSGI (gunicorn's way), the request middleware answers 500 with a clear
    ImproperlyConfigured, instead of pretending that no visitor ever decided."""
    script = """
import os
from wsgiref.util import setup_testing_defaults
from django.core.wsgi import get_wsgi_application

os.environ["DJANGO_SETTINGS_MODULE"] = "mysite.settings"
environ = {"PATH_INFO": "/consent-state/", "HTTP_HOST": "127.0.0.1"}
setup_testing_defaults(environ)
statuses = []
body = get_wsgi_application()(environ, lambda status, headers: statuses.append(status))
print(statuses[0])
"""
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=DJANGO_SITE, capture_output=True, text=True, timeout=60
    )
    assert run.stdout.strip() == "500 Internal Server Error", run.stderr
    assert "ImproperlyConfigured: consentkit needs Django served over ASGI" in run.stderr
