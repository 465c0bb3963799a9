"""`lianxin agencies`: the health table and its JSON, read from a gateway's database."""

from __future__ import annotations

import json
import time
import unicodedata

import pytest

from gateway.bootstrap import open_sql_store
from gateway.cli import main
from gateway.store.migrate import upgrade
from tests.integration.ops.health_rows import deliver, fail, queue

TAX, CITY = "tax-12366", "city-management"


@pytest.fixture
def filled(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A database with tax deliveries (2 s and 4 s), one dead letter, and city waiting."""
    upgrade(sqlite_url)
    store = open_sql_store(sqlite_url)
    try:
        now = time.time()
        deliver(store, TAX, queue(store, TAX, 1, now - 300, "a"), now - 298)
        deliver(store, TAX, queue(store, TAX, 1, now - 200, "b"), now - 196)
        fail(store, TAX, queue(store, TAX, 1, now - 100, "c"), "HTTP 400: 字段缺失", dead=True)
        queue(store, CITY, 2, now, "d")
    finally:
        store.engine.dispose()
    monkeypatch.setenv("LIANXIN_DATABASE_URL", sqlite_url)
    return sqlite_url


def columns(line: str) -> int:
    """Terminal columns of `line` (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


def test_lianxin_agencies_prints_an_aligned_table_with_the_circuit_not_available(
    filled: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["agencies", "--window", "15m"]) == 0
    title, header, *rows = capsys.readouterr().out.splitlines()
    assert title.startswith("agency health over the last 15m")
    tax = next(row for row in rows if row.startswith(TAX))
    expected = ["2", "1", "66.7%", "2.0s", "4.0s", "0", "1", "0", "n/a", "active"]
    assert tax.split()[2:12] == expected
    assert tax.endswith("HTTP 400: 字段缺失")
    city = next(row for row in rows if row.startswith(CITY)).split()
    assert city[2:12] == ["0", "0", "-", "-", "-", "2", "0", "0", "n/a", "active"]
    circuit_at = columns(header[: header.index(" circuit ")])  # after the Chinese names
    assert {columns(row[: row.index(" n/a ")]) for row in rows} == {circuit_at}
    assert len(rows) == 14


def test_lianxin_agencies_json_gives_the_fields_for_machines(
    filled: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["agencies", "--json"]) == 0
    rows = {row["agency"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows[TAX]["delivered"] == 2 and rows[TAX]["failed"] == 1
    assert (rows[TAX]["p50_ms"], rows[TAX]["p99_ms"]) == (2000.0, 4000.0)
    assert rows[TAX]["circuit"] == "n/a" and rows[TAX]["last_error"] == "HTTP 400: 字段缺失"
    assert rows[CITY]["backlog"] == 2 and rows[CITY]["success_rate"] is None


def test_the_pause_sub_verb_still_works_and_shows_in_the_table(
    filled: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["agencies", "pause", CITY, "--by", "ops-li"]) == 0
    assert main(["agencies", "--json"]) == 0
    out = capsys.readouterr().out
    rows = json.loads(out[out.index("[") :])
    assert [r["paused"] for r in rows if r["agency"] == CITY] == [True]


def test_a_window_that_is_no_span_is_refused(
    filled: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["agencies", "--window", "yesterday"]) == 2
    assert "--window 'yesterday' is not a span" in capsys.readouterr().err
    assert main(["agencies", "--window", "40d"]) == 2
    assert "at most" in capsys.readouterr().err
