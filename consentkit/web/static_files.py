"""Static files (the banner's, the dashboard's), read once at start-up, with a content hash."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from starlette.responses import Response

from ..errors import ConfigurationError
from ..visit.request import IF_NONE_MATCH, Visit

FILES = {
    "banner.js": "text/javascript; charset=utf-8",
    "banner.css": "text/css; charset=utf-8",
    "events.js": "text/javascript; charset=utf-8",  # goals and single-page apps (opt-in)
}


@dataclass(frozen=True, slots=True)
class StaticFile:
    body: bytes
    media_type: str
    etag: str  # a strong ETag from the content hash
    version: str  # the same hash, short, for ?v= cache-busting URLs


def _static_dir(folder: str) -> Path:
    # Inside a wheel the files live in the package; in a source checkout, beside it.
    packaged = Path(str(resources.files("consentkit"))) / "static" / folder
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "static" / folder


def load_static_files(folder: str, media_types: dict[str, str]) -> dict[str, StaticFile]:
    """Reads ``static/<folder>/<name>`` for each name, with its ETag and version hash."""
    directory = _static_dir(folder)
    files = {}
    for name, media_type in media_types.items():
        try:
            body = (directory / name).read_bytes()
        except OSError as error:
            raise ConfigurationError(f"the {folder} file {name} is missing ({error})") from None
        digest = hashlib.sha256(body).hexdigest()[:16]
        files[name] = StaticFile(body, media_type, f'"{digest}"', digest)
    return files


POLICY_MARKER = b"%CK_POLICY%"


def load_banner_files(policy_version: str) -> dict[str, StaticFile]:
    """The banner's files; banner.js carries the site's policy version (and so its hash)."""
    files = load_static_files("banner", FILES)
    script = files["banner.js"]
    body = script.body.replace(POLICY_MARKER, policy_version.encode("ascii"))
    digest = hashlib.sha256(body).hexdigest()[:16]
    files["banner.js"] = StaticFile(body, script.media_type, f'"{digest}"', digest)
    return files


def file_response(file: StaticFile, visit: Visit, *, unversioned: str) -> Response:
    """A static file: cached for a year when asked for with its content hash (``?v=``),
    else with the ``unversioned`` Cache-Control; 304 when the browser holds it already."""
    versioned = f"v={file.version}".encode() == visit.scope.get("query_string", b"")
    headers = {
        "ETag": file.etag,
        "Cache-Control": "public, max-age=31536000, immutable" if versioned else unversioned,
        "X-Content-Type-Options": "nosniff",
    }
    if visit.header(IF_NONE_MATCH) == file.etag:
        return Response(status_code=304, headers=headers)
    return Response(file.body, media_type=file.media_type, headers=headers)
