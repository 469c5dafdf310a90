"""The request path compiled to C, and its Python source as the reference.

``pip install`` compiles the modules named in ``consentkit/compiled.py`` when Cython and
a C compiler are at hand (``hatch_build.py``); ``CONSENTKIT_PURE_PYTHON=1`` runs their
source instead. The whole suite runs on whichever the installation has (compiled in CI:
checked here), and the request path's own tests run once more on the source.
"""

from __future__ import annotations

import os
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from consentkit import compiled

ROOT = Path(__file__).resolve().parents[1]
REQUEST_PATH_TESTS = [
    "tests/test_counting.py",
    "tests/test_tally.py",
    "tests/test_returning.py",
    "tests/test_consent_analytics.py",
    "tests/test_withdrawal.py",
    "tests/test_sources_and_goals.py",
    "tests/test_derivation.py",
    "tests/test_geoip_tree.py",
]


def test_the_installation_runs_the_compiled_request_path_where_it_can() -> None:
    if compiled.pure_python_wanted():
        assert not compiled.is_compiled()
    elif not compiled.is_compiled():
        if os.environ.get("CONSENTKIT_REQUIRE_ALL"):
            pytest.fail("the request path is not compiled (Cython or a C compiler missing?)")
        pytest.skip("installed without a C compiler: pure Python")


def test_the_python_source_passes_the_request_path_tests() -> None:
    env = {**os.environ, "CONSENTKIT_PURE_PYTHON": "1"}
    probe = "import consentkit, consentkit.compiled as c; print(c.is_compiled())"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "False"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *REQUEST_PATH_TESTS],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]


@pytest.mark.skipif(os.name != "posix", reason="GCC's or Clang's flags")
def test_a_cflags_without_an_optimization_level_still_builds_an_optimized_request_path(
    tmp_path: Path,
) -> None:
    """setuptools compiles with an environment's ``CFLAGS`` instead of Python's own flags:
    ``CFLAGS="-g"`` alone would build the request path unoptimized. One module is built
    here as pip would build it, and the flags the compiler recorded are read back."""
    pytest.importorskip("Cython")
    build = runpy.run_path(str(ROOT / "hatch_build.py"))
    assert build["optimization"]({"CFLAGS": "-O2 -g"}, "posix") == []  # a level named: kept
    assert build["optimization"]({}, "posix") == []  # Python's own flags (with -O3)
    # (without the checkout's own builds: the one read back must be this build's)
    skip = shutil.ignore_patterns("*.so", "*.pyd", "__pycache__")
    shutil.copytree(ROOT / "consentkit", tmp_path / "consentkit", ignore=skip)
    env = {**os.environ, "CFLAGS": "-g"}
    script = (
        "import runpy, sys; from pathlib import Path; "
        f"runpy.run_path({str(ROOT / 'hatch_build.py')!r})['compile_in_place']"
        "(Path(sys.argv[1]), ['consentkit.visit.pages'])"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], env=env, check=True,
                   capture_output=True, timeout=300)  # fmt: skip
    (built,) = (tmp_path / "consentkit" / "visit").glob("pages.*.so")
    producer = re.search(rb"GNU C[^\0]*", built.read_bytes())
    assert producer is not None, "no compiler record (built without -g?)"
    assert b" -O3" in producer.group(), producer.group()
