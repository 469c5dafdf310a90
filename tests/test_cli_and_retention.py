"""The command line (query, export, purge), retention, and site time zones."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from support import Clock, visit, write_views

from consentkit import ConfigurationError, open_store
from consentkit.cli.main import main

pytestmark = pytest.mark.every_store

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC).timestamp()


def hour(text: str) -> int:
    return int(datetime.fromisoformat(text + "+00:00").timestamp() // 3600)


def cell(when: str, page: str, visitors: list[int], views: int):
    return hour(when), ("DE", "desktop", "Chrome", "Windows", page), visitors, views


@pytest.fixture
def filled(store_url):
    store = open_store(store_url, clock=Clock(NOW))
    write_views(
        store,
        "default",
        [
            cell("2026-11-24 10:00", "/", [1, 2], 3),
            cell("2026-11-23 23:00", "/late", [3], 1),  # 2026-11-24 00:00 in Berlin
            cell("2025-01-05 10:00", "/old", [4], 7),
        ],
        [(hour("2025-01-05 10:00"), 2)],
    )
    store.close()
    return store_url


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_query_prints_a_table_json_and_csv(filled, capsys):
    query = json.dumps(
        {"metrics": ["visitors", "pageviews"], "dimensions": ["event:page"], "date_range": "all"}
    )
    code, out, _ = run(capsys, "query", "--store", filled, query)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["event:page", "visitors", "pageviews"]
    assert lines[1].split() == ["/", "2", "3"]
    code, out, _ = run(capsys, "query", "--store", filled, "--format", "json", query)
    assert json.loads(out)["results"][0] == {"dimensions": ["/"], "metrics": [2, 3]}
    code, out, _ = run(capsys, "query", "--store", filled, "--format", "csv", query)
    assert list(csv.reader(io.StringIO(out)))[1] == ["/", "2", "3"]


def test_a_bad_query_on_the_command_line_names_the_field(filled, capsys):
    code, _, err = run(capsys, "query", "--store", filled, '{"metrics": ["bounces"]}')
    assert code == 2 and "metrics[0]" in err
    code, _, err = run(capsys, "query", "--store", filled, "{not json")
    assert code == 2 and "not JSON" in err


def test_export_writes_aggregates_without_sketches(filled, capsys, tmp_path):
    _, out, _ = run(capsys, "export", "--store", filled)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["hour"], r["page"], r["pageviews"], r["visitors"]) for r in rows] == [
        ("2025-01-05T10:00:00Z", "/old", "7", "1"),
        ("2026-11-23T23:00:00Z", "/late", "1", "1"),
        ("2026-11-24T10:00:00Z", "/", "3", "2"),
    ]
    target = tmp_path / "out.jsonl"
    code, _, _ = run(
        capsys, "export", "--store", filled, "--format", "jsonl", "--output", str(target)
    )
    assert code == 0
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert lines[0]["page"] == "/old" and lines[0]["visitors"] == 1


def test_purge_removes_only_what_is_older_than_the_retention(filled, capsys):
    code, _, err = run(capsys, "purge", "--store", filled)
    assert code == 2 and "--pageviews-days" in err
    code, out, _ = run(
        capsys, "purge", "--store", filled, "--pageviews-days", "30", "--bots-days", "30"
    )
    assert code == 0 and "pageviews: 1 rows" in out
    answer = open_store(filled).query({"metrics": ["pageviews"], "date_range": "all"})
    assert answer["results"][0]["metrics"] == [4]
    assert answer["meta"]["bots_filtered"] == 0


@pytest.mark.anyio
async def test_the_middleware_purges_in_the_background(filled, make_site):
    import anyio

    clock = Clock(NOW)
    store = open_store(filled)
    total = {"metrics": ["pageviews"], "date_range": "all"}
    assert store.query(total)["results"][0]["metrics"] == [11]
    async with visit(make_site(store=filled, clock=clock, retention={"pageviews": 30})):
        with anyio.fail_after(5):  # the first purge runs in the background at start-up
            while store.query(total)["results"][0]["metrics"] != [4]:  # noqa: ASYNC110
                await anyio.sleep(0.02)


def test_bad_retention_fails_at_start_up(sqlite_url):
    from consentkit import ConsentMiddleware

    for retention in ({"sessions": 3}, {"pageviews": 0}, {"pageviews": "30"}):
        with pytest.raises(ConfigurationError, match="retention"):
            ConsentMiddleware(None, secret_key="s" * 32, store=sqlite_url, retention=retention)
    with pytest.raises(ConfigurationError, match="time_zone"):
        ConsentMiddleware(None, secret_key="s" * 32, store=sqlite_url, time_zone="Mars/Olympus")


def test_a_site_time_zone_moves_day_boundaries(filled):
    store = open_store(filled, clock=Clock(NOW))
    query = {
        "metrics": ["pageviews"],
        "dimensions": ["time:day"],
        "date_range": ["2026-11-23", "2026-11-24"],
    }
    utc = store.query(query)
    berlin = store.query(query, time_zone="Europe/Berlin")
    assert [(r["dimensions"], r["metrics"]) for r in utc["results"]] == [
        (["2026-11-23"], [1]),
        (["2026-11-24"], [3]),
    ]
    assert [(r["dimensions"], r["metrics"]) for r in berlin["results"]] == [(["2026-11-24"], [4])]
    assert berlin["meta"]["time_zone"] == "Europe/Berlin"
    hours = store.query(
        {"metrics": ["pageviews"], "dimensions": ["time:hour"], "date_range": "day"},
        time_zone="Europe/Berlin",
    )
    assert [r["dimensions"][0] for r in hours["results"]] == [
        "2026-11-24 00:00:00",
        "2026-11-24 11:00:00",
    ]
