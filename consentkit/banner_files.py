"""The banner's static files, read once at start-up and served with a content hash."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .errors import ConfigurationError

FILES = {"banner.js": "text/javascript; charset=utf-8", "banner.css": "text/css; charset=utf-8"}


@dataclass(frozen=True, slots=True)
class StaticFile:
    body: bytes
    media_type: str
    etag: str  # a strong ETag from the content hash
    version: str  # the same hash, short, for ?v= cache-busting URLs


def _banner_dir() -> Path:
    # Inside a wheel the files live in the package; in a source checkout, beside it.
    packaged = Path(str(resources.files("consentkit"))) / "static" / "banner"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "static" / "banner"


def load_banner_files() -> dict[str, StaticFile]:
    folder = _banner_dir()
    files = {}
    for name, media_type in FILES.items():
        try:
            body = (folder / name).read_bytes()
        except OSError as error:
            raise ConfigurationError(f"the banner file {name} is missing ({error})") from None
        digest = hashlib.sha256(body).hexdigest()[:16]
        files[name] = StaticFile(body, media_type, f'"{digest}"', digest)
    return files
