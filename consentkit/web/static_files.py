"""Static files (the banner's, the dashboard's), read once at start-up, with a content hash,
and compressed once at start-up (gzip always, brotli when the ``brotli`` package is there).

The banner's files are also minified at start-up (rjsmin, rcssmin: whitespace and comments
only, names untouched), so the readable source stays in ``static/banner/``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import rcssmin
import rjsmin
from starlette.responses import Response

from ..consent.consent_mode import ConsentMode
from ..errors import ConfigurationError
from ..settings import ConsentSettings
from ..visit.request import ACCEPT_ENCODING, IF_NONE_MATCH, Visit

try:  # optional: pip install "consentkit[brotli]"
    import brotli
except ImportError:  # pragma: no cover - depends on the installation
    brotli = None

JS = "text/javascript; charset=utf-8"
CSS = "text/css; charset=utf-8"
FILES = {"banner.js": JS, "banner.css": CSS, "consent-defaults.js": JS}
_MINIFIERS: dict[str, Callable[[str], str]] = {
    JS: rjsmin.jsmin,
    CSS: rcssmin.cssmin,
}


@dataclass(frozen=True, slots=True)
class StaticFile:
    body: bytes
    media_type: str
    etag: str  # a strong ETag from the content hash
    version: str  # the same hash, short, for ?v= cache-busting URLs
    gzip: bytes = b""  # the body gzipped (empty: not worth it)
    brotli: bytes = b""  # the body as brotli (empty: no brotli package)

    @classmethod
    def of(cls, body: bytes, media_type: str) -> StaticFile:
        """The file with its hash, and its compressed forms when they are smaller."""
        digest = hashlib.sha256(body).hexdigest()[:16]
        gzipped = gzip.compress(body, compresslevel=9, mtime=0)
        squeezed = brotli.compress(body, quality=11) if brotli is not None else b""
        return cls(
            body,
            media_type,
            f'"{digest}"',
            digest,
            gzipped if len(gzipped) < len(body) else b"",
            squeezed if squeezed and len(squeezed) < len(body) else b"",
        )


def _static_dir(folder: str) -> Path:
    # Inside a wheel the files live in the package; in a source checkout, beside it.
    packaged = Path(str(resources.files("consentkit"))) / "static" / folder
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "static" / folder


def _read(folder: str, name: str) -> bytes:
    try:
        return (_static_dir(folder) / name).read_bytes()
    except OSError as error:
        raise ConfigurationError(f"the {folder} file {name} is missing ({error})") from None


def load_static_files(folder: str, media_types: dict[str, str]) -> dict[str, StaticFile]:
    """Reads ``static/<folder>/<name>`` for each name, with its ETag and version hash."""
    return {
        name: StaticFile.of(_read(folder, name), media_type)
        for name, media_type in media_types.items()
    }


POLICY_MARKER = "%CK_POLICY%"
SITE_MARKER = "/*CK_SITE*/{}"  # replaced by the site's part of the banner's configuration


def load_banner_files(policy_version: str, site: dict[str, Any]) -> dict[str, StaticFile]:
    """The banner's files, minified; the scripts carry the site's policy version and their
    part of ``site`` (``banner_site``) as JSON, and so do their hashes."""
    files = {}
    for name, media_type in FILES.items():
        # "<" escaped: the JSON stays inert even if a page ever inlined the script.
        values = json.dumps(site.get(name, {}), separators=(",", ":"), sort_keys=True)
        text = _read("banner", name).decode("utf-8")
        text = text.replace(SITE_MARKER, values.replace("<", "\\u003c"))
        text = _MINIFIERS[media_type](text).replace(POLICY_MARKER, policy_version)
        files[name] = StaticFile.of(text.encode("utf-8"), media_type)
    return files


def banner_site(settings: ConsentSettings) -> dict[str, Any]:
    """What each banner script is told of the site before any request: banner.js each
    service's category, consent-defaults.js the Consent Mode options."""
    return {
        "banner.js": {"services": settings.category_set.services},
        "consent-defaults.js": {
            "consent_mode": ConsentMode.of(settings.consent_mode).script_options()
        },
    }


def accepted_encoding(accept_encoding: str) -> str | None:
    """``"br"``, ``"gzip"`` or None (identity) for an ``Accept-Encoding`` header; a coding
    with ``q=0`` is refused, ``*`` stands for any coding not named."""
    weights: dict[str, float] = {}
    for item in accept_encoding.lower().split(",")[:32]:
        coding, _, parameters = item.partition(";")
        weight = 1.0
        name, _, value = parameters.strip().partition("=")
        if name.strip() == "q":
            try:
                weight = float(value)
            except ValueError:
                weight = 0.0
        weights.setdefault(coding.strip(), weight)
    anything = weights.get("*", 0.0)
    for coding in ("br", "gzip"):
        if weights.get(coding, anything) > 0:
            return coding
    return None


def file_response(file: StaticFile, visit: Visit, *, unversioned: str) -> Response:
    """A static file: cached for a year when asked for with its content hash (``?v=``),
    else with the ``unversioned`` Cache-Control; 304 when the browser holds it already;
    brotli or gzip when the browser accepts them."""
    versioned = f"v={file.version}".encode() == visit.scope.get("query_string", b"")
    coding = accepted_encoding(visit.header(ACCEPT_ENCODING))
    body = {"br": file.brotli, "gzip": file.gzip}.get(coding or "", b"")
    # Each representation has its own strong ETag, as RFC 9110 wants.
    etag = f'"{file.version}-{coding}"' if body else file.etag
    headers = {
        "ETag": etag,
        "Cache-Control": "public, max-age=31536000, immutable" if versioned else unversioned,
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    held = [tag.strip().removeprefix("W/") for tag in visit.header(IF_NONE_MATCH).split(",")]
    if etag in held:
        return Response(status_code=304, headers=headers)
    if body:
        headers["Content-Encoding"] = coding or ""
        return Response(body, media_type=file.media_type, headers=headers)
    return Response(file.body, media_type=file.media_type, headers=headers)
