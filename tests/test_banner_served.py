"""The banner's files as served: minified at start-up, precompressed (gzip, brotli), with
``Vary: Accept-Encoding``, one ETag per coding, and cached for a year under their hash;
``consent-defaults.js`` beside them. The size budget is measured on what is served."""

from __future__ import annotations

import gzip
from pathlib import Path

import brotli
import pytest
from support import visit

from consentkit import ConsentMode
from consentkit.settings import ConsentSettings
from consentkit.web.static_files import accepted_encoding, banner_site, load_banner_files

pytestmark = pytest.mark.anyio

SOURCE = Path(__file__).resolve().parents[1] / "static" / "banner"
BUDGET = 6 * 1024  # DESIGN section 8: JS + CSS under 6 KB gzipped, as served


def served_files(**options):
    settings = ConsentSettings(secret_key="s" * 32, policy_version="2026-11", **options)
    return load_banner_files(settings.policy_version, banner_site(settings))


def test_banner_js_and_css_fit_the_gzip_budget_as_served():
    files = served_files()
    sizes = {name: len(file.gzip) for name, file in files.items()}
    # Every page loads banner.js and banner.css: the banner, held to the budget.
    # consent-defaults.js is for sites with Google tags only, and stays under 1 KB.
    print(f"gzipped as served: {sizes}")
    assert sizes["banner.js"] + sizes["banner.css"] < BUDGET, sizes
    assert sizes["consent-defaults.js"] < 1024, sizes
    assert all(len(file.brotli) < len(file.gzip) for file in files.values())


def test_the_served_banner_is_the_source_minified_with_the_sites_values():
    files = served_files(consent_mode={"wait_for_update": 500})
    for name, file in files.items():
        source = (SOURCE / name).read_text("utf-8")
        served = file.body.decode("utf-8")
        assert len(served) < 0.85 * len(source), name
        assert "/*" not in served and "\n  " not in served, name  # no comments, no indent
    script = files["banner.js"].body.decode()
    assert '"2026-11"' in script and "%CK_POLICY%" not in script and "CK_SITE" not in script
    defaults = files["consent-defaults.js"].body.decode()
    assert '"wait_for_update":500' in defaults


@pytest.mark.parametrize(
    ("header", "coding"),
    [
        ("gzip, deflate, br", "br"),
        ("gzip", "gzip"),
        ("br;q=0, gzip;q=0.5", "gzip"),
        ("*", "br"),
        ("*;q=0", None),
        ("identity", None),
        ("", None),
        ("gzip;q=banana, br;q=0", None),
        ("GZIP", "gzip"),
    ],
)
def test_the_coding_is_chosen_from_accept_encoding(header, coding):
    assert accepted_encoding(header) == coding


@pytest.mark.parametrize("name", ["banner.js", "banner.css", "consent-defaults.js"])
async def test_each_file_is_served_compressed_and_cached_under_its_hash(make_site, name):
    async with visit(make_site()) as browser:
        plain = await browser.get(f"/consentkit/{name}", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers
        assert plain.headers["vary"] == "Accept-Encoding"
        for coding, decompress in (("gzip", gzip.decompress), ("br", brotli.decompress)):
            # httpx would undo the coding: read the raw bytes to see what went on the wire.
            async with browser.stream(
                "GET", f"/consentkit/{name}", headers={"Accept-Encoding": coding}
            ) as response:
                raw = b"".join([chunk async for chunk in response.aiter_raw()])
            assert response.headers["content-encoding"] == coding
            assert response.headers["vary"] == "Accept-Encoding"
            assert int(response.headers["content-length"]) == len(raw) < len(plain.content)
            assert decompress(raw) == plain.content
            etag = response.headers["etag"]
            assert etag != plain.headers["etag"]  # one ETag per representation
            again = await browser.get(
                f"/consentkit/{name}", headers={"Accept-Encoding": coding, "If-None-Match": etag}
            )
            assert again.status_code == 304 and again.content == b""
        # A representation's ETag does not validate another's.
        other = await browser.get(
            f"/consentkit/{name}",
            headers={"Accept-Encoding": "identity", "If-None-Match": etag},
        )
        assert other.status_code == 200
        assert "immutable" not in plain.headers["cache-control"]
        version = plain.headers["etag"].strip('"')
        pinned = await browser.get(f"/consentkit/{name}?v={version}")
        assert pinned.headers["cache-control"] == "public, max-age=31536000, immutable"
        wrong = await browser.get(f"/consentkit/{name}?v=0000")
        assert "immutable" not in wrong.headers["cache-control"]


@pytest.mark.parametrize(
    ("consent_mode", "message"),
    [
        ({"regions": {"us": ["analytics"]}}, "ISO 3166"),
        ({"regions": {"US": "analytics"}}, "list of category names"),
        ({"regions": {"US": ["ads"]}}, "'ads' is not an optional category"),
        ({"regions": {"US": ["necessary"]}}, "not an optional category"),
        ({"wait_for_update": -1}, "wait_for_update"),
        ({"wait_for_update": 60_000}, "wait_for_update"),
        ({"wait_for_update": 1.5}, "wait_for_update"),
        ({"url_passthrough": "yes"}, "url_passthrough must be True or False"),
        ({"wait": 500}, "no option 'wait'"),
        ("granted", "must be a ConsentMode"),
    ],
)
def test_bad_consent_mode_options_fail_at_start_up(consent_mode, message):
    from consentkit import ConfigurationError

    with pytest.raises(ConfigurationError, match=message):
        ConsentSettings(secret_key="s" * 32, consent_mode=consent_mode)


def test_consent_mode_options_reach_the_script():
    mode = ConsentMode(regions={"US-CA": ["analytics"]}, ads_data_redaction=True)
    script = served_files(consent_mode=mode)["consent-defaults.js"].body.decode()
    assert '"regions":{"US-CA":["analytics"]}' in script
    assert '"ads_data_redaction":true' in script
