"""Build hook: the request path's modules compiled to C with Cython, when it can be done.

The modules named in ``consentkit/compiled.py`` are compiled in place, next to their
source (the C files go to ``build/``), and the wheel carries the compiled files as well.
Without Cython, setuptools or a C compiler, or with ``CONSENTKIT_PURE_PYTHON=1`` set, the
build says why and goes on: consentkit then runs as pure Python, the same behaviour at a
lower speed (docs/performance.md).
"""

from __future__ import annotations

import os
import runpy
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CompiledRequestPath(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        settings = runpy.run_path(str(root / "consentkit" / "compiled.py"))
        if settings["pure_python_wanted"]():
            return
        try:
            built = compile_in_place(root, settings["MODULES"], settings["COMPILED_ONLY"])
        except Exception as error:  # no Cython, no compiler: the pure-Python build
            print(f"consentkit: request path not compiled ({error}); pure Python", file=sys.stderr)
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        build_data["artifacts"].extend(str(path.relative_to(root)) for path in built)


def compile_in_place(
    root: Path, modules: Sequence[str], compiled_only: Sequence[str] = ()
) -> list[Path]:
    """The ``modules`` compiled from their Python source, the ``compiled_only`` from their
    ``.pyx``; the compiled files' paths."""
    from Cython.Build import cythonize
    from setuptools import Distribution, Extension
    from setuptools.command.build_ext import build_ext

    extra = optimization(os.environ, os.name)
    extensions = [
        Extension(name, [str(Path(*name.split(".")).with_suffix(suffix))], extra_compile_args=extra)
        for names, suffix in ((modules, ".py"), (compiled_only, ".pyx"))
        for name in names
    ]
    modules = [*modules, *compiled_only]
    here = os.getcwd()
    os.chdir(root)
    try:
        compiled = cythonize(
            extensions,
            build_dir="build/cython",
            compiler_directives={"language_level": 3, "binding": False, "annotation_typing": False},
            quiet=True,
        )
        command = build_ext(Distribution({"ext_modules": compiled}))
        command.inplace = True
        command.build_temp = "build/temp"
        command.ensure_finalized()
        command.run()
        return [root / command.get_ext_filename(name) for name in modules]
    finally:
        os.chdir(here)


def optimization(environ: Mapping[str, str], system: str) -> list[str]:
    """``-O3`` where a ``CFLAGS`` of the environment names no optimization level: setuptools
    then compiles with that ``CFLAGS`` instead of Python's own flags (``-O3`` among them),
    and an image that sets ``CFLAGS="-g"`` or hardening flags for its own reasons would get
    an unoptimized request path (the middleware's cost nearly doubled: docs/deployment.md).
    A level it does name is kept (``-O0`` to debug, say)."""
    flags = environ.get("CFLAGS")
    if system != "posix" or flags is None or any(f.startswith("-O") for f in flags.split()):
        return []
    return ["-O3"]
