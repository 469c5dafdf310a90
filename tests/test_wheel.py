"""The built wheel works on its own: it holds the banner's and the dashboard's files, and
an installed copy (not the checkout) serves them.

The wheel is built with the project's own build backend (hatchling, from the test extra:
no download), installed without its dependencies into a new virtual environment, and run
from a folder outside the checkout with the test environment's packages on PYTHONPATH:
so the dependencies come from here, while consentkit itself can only come from the wheel.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import httpx
import pytest
import rcssmin
import rjsmin
from server_process import ServerProcess, free_port

ROOT = Path(__file__).resolve().parents[1]
PACKAGED = [
    "consentkit/py.typed",
    "consentkit/locales/en.json",
    "consentkit/static/banner/banner.js",
    "consentkit/static/banner/banner.css",
    "consentkit/static/dashboard/dashboard.js",
    "consentkit/static/dashboard/dashboard.css",
    "consentkit/static/privacy/privacy.css",
    "consentkit/static/privacy/privacy.js",
    "consentkit/locales/pages/en.json",
    "consentkit/django/templatetags/consentkit.py",
]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The new environment's python, and the environment to run it with."""
    folder = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(folder / "dist"),
            str(ROOT),
        ],
        check=True,
        cwd=folder,
        timeout=300,
    )
    [wheel] = (folder / "dist").glob("consentkit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert [name for name in PACKAGED if name not in names] == []
    assert not [name for name in names if name.startswith(("tests/", "examples/", "docs/"))]

    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
        cwd=folder,
        timeout=300,
    )
    env = {**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"]}
    return python, env


def test_the_installed_wheel_is_the_one_imported(installed, tmp_path):
    python, env = installed
    shown = subprocess.run(
        [python, "-c", "import consentkit; print(consentkit.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(shown.stdout.strip()).is_relative_to(python.parents[1])
    helped = subprocess.run(
        [python, "-m", "consentkit", "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert helped.returncode == 0 and helped.stdout.startswith("usage: consentkit"), helped


def test_the_installed_wheel_serves_the_banner_and_the_dashboard(installed, tmp_path):
    python, env = installed
    port = free_port()
    demo = [
        python,
        "-m",
        "consentkit",
        "demo",
        "--port",
        str(port),
        "--store",
        f"sqlite:///{tmp_path / 'demo.sqlite3'}",
    ]
    env = {**env, "CONSENTKIT_ADMIN_TOKEN": "a-token-for-the-wheel-test"}
    with ServerProcess(demo, port, cwd=tmp_path, env=env, log_file=tmp_path / "demo.log") as server:
        for path, source in [
            ("/consentkit/dashboard/dashboard.js", "static/dashboard/dashboard.js"),
            ("/consentkit/dashboard/dashboard.css", "static/dashboard/dashboard.css"),
            ("/consentkit/privacy.css", "static/privacy/privacy.css"),
            ("/consentkit/privacy.js", "static/privacy/privacy.js"),
        ]:
            response = httpx.get(server.url + path)
            assert response.status_code == 200, (path, server.log())
            first_line = (ROOT / source).read_text().splitlines()[0]  # the rest may be filled in
            assert response.text.splitlines()[0] == first_line, path
        # The banner's files are served minified: their start is the source's, minified.
        for name, minify in [
            ("banner.js", rjsmin.jsmin),
            ("banner.css", rcssmin.cssmin),
            ("consent-defaults.js", rjsmin.jsmin),
        ]:
            response = httpx.get(f"{server.url}/consentkit/{name}")
            assert response.status_code == 200, (name, server.log())
            start = minify((ROOT / "static" / "banner" / name).read_text())[:30]
            assert response.text.startswith(start), name
        assert "/consentkit/banner.js" in httpx.get(server.url + "/").text
    assert server.stopped_cleanly(), server.log()
