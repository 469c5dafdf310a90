"""The command line as a person meets it: help that says each default, ``--version``, one
way of saying what went wrong, no database made from a mistyped path, and a quiet stop when
the reader of its output goes away (``consentkit query ... | head -1``)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from support import write_views

import consentkit
from consentkit import open_store
from consentkit.cli.main import main

COMMANDS = [
    ["demo"],
    ["query"],
    ["purge"],
    ["export"],
    ["disclose"],
    ["ledger"],
    ["ledger", "verify"],
    ["ledger", "head"],
]
PAGES = json.dumps({"metrics": ["pageviews"], "dimensions": ["event:page"], "date_range": "all"})


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as stop:  # argparse: --help, --version and its own errors
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def options_of(help_text: str) -> dict[str, str]:
    """Each option of a --help text (its first spelling) with what is said of it."""
    options: dict[str, str] = {}
    name = ""
    for line in help_text.split("options:\n", 1)[1].splitlines():
        if line.startswith("  -"):
            name = line.split()[0].rstrip(",")
            options[name] = line.strip()
        elif line.startswith("    ") and name:
            options[name] += " " + line.strip()
    return options


def test_every_command_is_covered_here(capsys):
    _, out, _ = run(capsys, "--help")
    listed = re.search(r"\{([a-z,]+)\}", out)
    assert listed is not None
    assert [[name] for name in listed.group(1).split(",")] == [c for c in COMMANDS if len(c) == 1]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_option_is_explained_and_says_its_default(capsys, command):
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0 and out.startswith(f"usage: consentkit {' '.join(command)}")
    for name, text in options_of(out).items():
        said = re.sub(r"\{[^}]*\}|\B-{1,2}[\w-]+|\b[A-Z_]{2,}\b|[,\s]", "", text)
        assert said, f"{name} is not explained"
        takes_a_value = re.match(r"-[-\w]+ (\{|[A-Z])", text) is not None
        assert not takes_a_value or "default" in text, f"{name} does not say its default"


def test_defaults_are_shown_as_they_are(capsys):
    _, out, _ = run(capsys, "query", "--help")
    text = " ".join(out.split())
    assert "(default: sqlite:///consentkit.sqlite3)" in text
    assert "how to print the answer (default: table)" in text
    assert "(default: UTC)" in text
    _, out, _ = run(capsys, "demo", "--help")
    assert "(default: 8000)" in out and "(default: 127.0.0.1)" in out


def test_version(capsys):
    assert run(capsys, "--version") == (0, f"consentkit {consentkit.__version__}\n", "")


def test_python_m_consentkit_is_the_same_command_line():
    shown = subprocess.run(
        [sys.executable, "-m", "consentkit", "--help"], capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("usage: consentkit ")


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        (["query"], 2, "the following arguments are required: query"),
        (["query", "--format", "xml", "{{}}"], 2, "argument --format: invalid choice"),
        (["query", "--store", "{store}", "{{not json"], 2, "the query is not JSON"),
        (["query", "--store", "{store}", '{{"metrics": ["bounces"]}}'], 2, "bad query: metrics[0]"),
        (["query", "--store", "mysql://db", "{{}}"], 1, "store 'mysql://db': unsupported URL"),
        (["purge", "--store", "{store}"], 2, "say how long to keep something"),
        (["disclose", "ck_no_such_module:app"], 2, "cannot import 'ck_no_such_module'"),
        (["ledger"], 2, "the following arguments are required: ledger_command"),
        (
            ["export", "--store", "{store}", "--output", "/no/such/folder/out.csv"],
            1,
            "No such file or directory: '/no/such/folder/out.csv'",
        ),
    ],
)
def test_every_error_starts_the_same_way(capsys, sqlite_url, argv, status, message):
    open_store(sqlite_url).close()
    code, out, err = run(capsys, *(a.format(store=sqlite_url) for a in argv))
    assert (code, out) == (status, "")
    last = err.splitlines()[-1]
    assert last.startswith("consentkit: error: ") and message in last, err


@pytest.mark.parametrize(
    "argv",
    [
        ["query", PAGES],
        ["export"],
        ["purge", "--pageviews-days", "30"],
        ["ledger", "verify"],
        ["ledger", "head"],
    ],
)
def test_a_store_that_does_not_exist_is_an_error_not_a_new_database(capsys, tmp_path, argv):
    typo = tmp_path / "consentkit.sqlit3"
    code, out, err = run(capsys, *argv, "--store", f"sqlite:///{typo}")
    assert (code, out) == (2, "")
    assert err == f"consentkit: error: no database at {typo} (check --store)\n"
    assert list(tmp_path.iterdir()) == []


def test_a_closed_pipe_stops_the_output_quietly(sqlite_url, tmp_path):
    """``consentkit query ... | head -1`` on a site with many pages: far more output than a
    pipe holds, so the writer meets the closed pipe."""
    store = open_store(sqlite_url)
    hour = 495_000
    pages = [
        (hour, ("DE", "desktop", "Chrome", "Windows", f"/a-long-page-name/{n:05}"), [n], 1)
        for n in range(6000)
    ]
    write_views(store, "default", pages)
    store.close()

    reader = subprocess.Popen(
        [sys.executable, "-m", "consentkit", "query", "--store", sqlite_url, PAGES],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    assert reader.stdout is not None and reader.stderr is not None
    assert reader.stdout.readline().split() == [b"event:page", b"pageviews"]
    reader.stdout.close()  # what `head -1` does after its line
    errors = reader.stderr.read()
    assert reader.wait(timeout=60) == 1
    assert errors == b""
