"""The request path's modules that are compiled to C when consentkit is installed with a C
compiler at hand (Cython, at build time: ``hatch_build.py``), and the switch back to
their Python source.

The Python source is the reference: it is what the compiled modules are built from (with
the C types of the ``.pxd`` files beside them), and what runs where no compiler was
found. ``CONSENTKIT_PURE_PYTHON=1`` in the environment makes a compiled installation
import the source instead (to compare, or to debug), and at install time builds nothing.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
import warnings
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType

MODULES = (
    "consentkit.visit.request",
    "consentkit.visit.pages",
    "consentkit.visit.sources",
    "consentkit.analytics.tally",
    "consentkit.returning",
    "consentkit.response_hook",
    "consentkit.visit.classify",
    "consentkit.visit.client_ip",
    "consentkit.visit.mmdb",
)
# Compiled only, from a .pyx: the returning visitor's lane in CPython's C API
# (fastlane.pyx), for requests the modules above serve in general.
COMPILED_ONLY = ("consentkit.fastlane",)


def pure_python_wanted() -> bool:
    return os.environ.get("CONSENTKIT_PURE_PYTHON", "") not in ("", "0")


def is_compiled() -> bool:
    """Whether the request path runs compiled (else as its Python source)."""
    from . import returning

    return not (returning.__file__ or "").endswith(".py")


class SourceFirst(MetaPathFinder):
    """Finds the compiled modules' Python source, ahead of the compiled files beside it."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname not in MODULES or not path:
            return None
        leaf = fullname.rpartition(".")[2] + ".py"
        for folder in path:
            source = os.path.join(folder, leaf)
            if os.path.exists(source):
                return importlib.util.spec_from_file_location(fullname, source)
        return None


def entry_class() -> type:
    """``ConsentMiddleware``'s base: the lane's (``fastlane.pyx``) where the request path
    runs compiled, else ``returning.Entry`` (as compiled, or as its source)."""
    from . import returning

    if is_compiled():
        try:
            from . import fastlane  # type: ignore[attr-defined]
        except ImportError:  # (built before the lane was: ``returning.Entry`` alone)
            pass
        else:
            lane: type = fastlane.Entry
            return lane
    return returning.Entry


def edited_since_compiled() -> list[str]:
    """The compiled modules whose source is newer than their compiled file (in a checkout,
    an edit made after ``pip install -e .``)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    stale = []
    for name in (*MODULES, *COMPILED_ONLY):
        source = os.path.join(root, *name.split("."))
        source += ".pyx" if name in COMPILED_ONLY else ".py"
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            built = os.path.splitext(source)[0] + suffix
            if os.path.exists(built) and os.path.getmtime(source) > os.path.getmtime(built):
                stale.append(name)
    return stale


def prefer_source() -> None:
    """Makes the compiled modules import as their source: with ``CONSENTKIT_PURE_PYTHON``
    set, or in a checkout where one of them was edited since it was compiled (all of them
    then: compiled and source types do not mix)."""
    if any(isinstance(f, SourceFirst) for f in sys.meta_path):
        return
    checkout = os.path.exists(os.path.join(os.path.dirname(__file__), "..", "hatch_build.py"))
    stale = edited_since_compiled() if checkout else []
    if stale:
        warnings.warn(
            f"consentkit: {', '.join(stale)} edited since compiled; the request path runs "
            "as Python source until `pip install -e .` compiles it again",
            stacklevel=2,
        )
    if stale or pure_python_wanted():
        sys.meta_path.insert(0, SourceFirst())
