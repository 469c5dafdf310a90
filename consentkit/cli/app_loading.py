"""Importing a site's app from a ``module:attribute`` spec, as uvicorn does, for the CLI."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import ConsentkitError


class AppLoadError(ConsentkitError):
    """``consentkit disclose`` could not find a consent configuration at the APP it was given."""


def load_app(spec: str, app_dir: str = ".") -> object:
    """The object ``module:attribute`` names (as uvicorn reads it), imported from ``app_dir``."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise AppLoadError(f"APP must be 'module:attribute', e.g. 'mysite.app:app', not {spec!r}")
    with _on_path(app_dir):
        try:
            target: object = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            raise AppLoadError(f"cannot import {module_name!r}: {error}") from error
    for name in attribute.split("."):
        try:
            target = getattr(target, name)
        except AttributeError:
            raise AppLoadError(f"module {module_name!r} has no attribute {attribute!r}") from None
    return target


def app_layers(app: object, limit: int = 100) -> Iterator[object]:
    """An app and what it wraps: Starlette's built ``middleware_stack``, then each ``.app``."""
    seen: set[int] = set()
    current: object = app
    while current is not None and id(current) not in seen and len(seen) < limit:
        seen.add(id(current))
        yield current
        current = getattr(current, "middleware_stack", None) or getattr(current, "app", None)


@contextmanager
def _on_path(directory: str) -> Iterator[None]:
    path = os.path.abspath(directory)
    added = path not in sys.path
    if added:
        sys.path.insert(0, path)
    try:
        yield
    finally:
        if added:
            sys.path.remove(path)
