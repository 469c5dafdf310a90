"""docs/quickstart.md runs as written.

The app file it tells the reader to save is written to a folder of its own and served
with the quickstart's own run command (uvicorn in a subprocess), visited over HTTP and
stopped; then the quickstart's other Python code and its command line run in that folder,
as the reader would run them, and must show the page views just made.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
from server_process import ServerProcess, free_port

import consentkit

QUICKSTART = Path(__file__).resolve().parents[1] / "docs" / "quickstart.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
SAVE_AS = re.compile(r"Save this as `([\w.]+)`:\s*$")


@dataclass(frozen=True)
class Block:
    language: str
    code: str
    saved_as: str | None  # the file the text before it says to save it as


def code_blocks(text: str) -> list[Block]:
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        saved = SAVE_AS.search(before)
        found.append(Block(match[1], match[2], saved[1] if saved else None))
    return found


def shell_lines(blocks: list[Block]) -> list[str]:
    """Every command of the shell blocks, continuation lines joined."""
    text = "\n".join(block.code for block in blocks if block.language == "sh")
    return [line.strip() for line in text.replace("\\\n", " ").splitlines() if line.strip()]


def the_line(lines: list[str], start: str) -> str:
    [line] = [line for line in lines if line.startswith(start)]
    return line


def test_the_quickstart_runs_as_written(tmp_path: Path) -> None:
    text = QUICKSTART.read_text()
    blocks = code_blocks(text)
    [app_file] = [block for block in blocks if block.saved_as]
    snippets = [block for block in blocks if block.language == "python" and not block.saved_as]
    commands = shell_lines(blocks)
    assert app_file.language == "python" and snippets, "the quickstart lost its code"
    assert f"consentkit-{consentkit.__version__}-py3-none-any.whl" in text
    (tmp_path / app_file.saved_as).write_text(app_file.code)

    # 3. Run it: the secret as the quickstart makes it (`python` of the reader's venv)
    venv_bin = str(Path(sys.executable).parent)
    environment = {**os.environ, "PATH": venv_bin + os.pathsep + os.environ["PATH"]}
    export = the_line(commands, "export CONSENTKIT_SECRET=")
    secret = subprocess.run(
        ["bash", "-c", f'{export}\nprintf %s "$CONSENTKIT_SECRET"'],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert len(secret) >= 32
    environment["CONSENTKIT_SECRET"] = secret
    run = shlex.split(the_line(commands, "uvicorn "))
    port = free_port()
    server = ServerProcess(
        [sys.executable, "-m", *run, "--port", str(port)],
        port,
        cwd=tmp_path,
        env=environment,
        log_file=tmp_path.parent / "app.log",
    )
    with server, httpx.Client(base_url=server.url, headers={"Origin": server.url}) as browser:
        home = browser.get("/")
        assert home.status_code == 200 and home.headers["vary"] == "Cookie"
        banner = re.search(r'<script src="(/consentkit/banner\.js[^"]*)" defer>', home.text)
        assert banner is not None, home.text
        script = browser.get(banner[1])
        assert script.status_code == 200
        assert script.headers["content-type"].startswith("text/javascript")
        assert 'data-category="analytics" data-src="/analytics.js"' in home.text
        assert browser.get("/my-consent").json() == {"decided": False, "analytics": False}

        accepted = browser.post("/consentkit/consent", json={"action": "accept_all"})
        assert accepted.status_code == 200
        assert browser.get("/my-consent").json() == {"decided": True, "analytics": True}
        for _ in range(2):
            assert browser.get("/blog/hello-world").status_code == 200
    assert server.stopped_cleanly(), server.log()

    # 7. Look at the numbers: the Python snippet, then the command line
    for snippet in snippets:
        ran = subprocess.run(
            [sys.executable, "-c", snippet.code],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.splitlines() == ["['/blog/{slug}'] [1, 2]"]
    query = shlex.split(the_line(commands, "consentkit query "))
    ran = subprocess.run(
        [sys.executable, "-m", "consentkit", *query[1:]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    header, *rows = ran.stdout.splitlines()
    assert header.split() == ["time:day", "visitors", "pageviews"]
    assert [row.split()[1:] for row in rows] == [["1", "2"]]
