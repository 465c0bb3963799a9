"""`lianxin deliveries list --failed` and `lianxin replay` against a gateway's database."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from gateway.cli import main
from tests.conftest import Stack
from tests.integration.api.helpers import wait_until
from tests.integration.ops.helpers import audit_events, handoffs_in, submit_orders, wait_for_dead

TAX = "tax-12366"


def test_the_cli_lists_counts_and_replays_dead_letters_batch_by_batch(
    make_stack: Callable[..., Stack],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stack = make_stack()
    tax = stack.agencies[TAX]
    tax.fail_next, tax.fail_status = 10**9, 400
    submit_orders(stack, 20, "CLI")
    wait_for_dead(database_url, TAX, 20)
    tax.fail_next = 0
    monkeypatch.setenv("LIANXIN_DATABASE_URL", database_url)
    capsys.readouterr()
    assert main(["deliveries", "list", "--failed", "--agency", TAX]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[-1] == "20 shown of 20 dead-lettered" and len(listing) == 22
    assert main(["replay", "--agency", TAX, "--dry-run"]) == 0
    assert capsys.readouterr().out == "dry run: 20 dead-lettered deliveries would be replayed\n"
    assert main(["deliveries", "list", "--failed", "--agency", TAX, "--limit", "5", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["total"] == 20 and len(listed["deliveries"]) == 5
    first = listed["deliveries"][0]
    assert first["agency"] == TAX and first["last_status"] == 400 and first["order_id"]
    assert first["created_at"].endswith("+00:00")
    assert main(["replay", "--agency", TAX, "--dry-run", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"dry_run": True, "count": 20}
    assert main(["replay", "--agency", TAX, "--by", "ops-zhang", "--batch", "8"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" (")[0] for line in lines[1:4]] == [
        "batch 1: 8 replayed",
        "batch 2: 16 replayed",
        "batch 3: 20 replayed",
    ]
    wait_until(lambda: handoffs_in(database_url, "delivered", TAX) == 20, 30, "redelivery")
    assert tax.unique_deliveries() == 20 and tax.duplicates() == 0
    assert {json.loads(d)["by"] for d in audit_events(database_url, "replayed")} == {"ops-zhang"}


def test_the_cli_refuses_a_window_without_a_time_zone(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LIANXIN_DATABASE_URL", sqlite_url)
    assert main(["replay", "--agency", TAX, "--since", "2026-11-27T08:00"]) == 2
    assert "has no time zone" in capsys.readouterr().err


def test_replay_with_json_prints_one_document_and_its_progress_on_stderr(
    make_stack: Callable[..., Stack],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stack = make_stack()
    tax = stack.agencies[TAX]
    tax.fail_next, tax.fail_status = 10**9, 400
    submit_orders(stack, 3, "JSON")
    wait_for_dead(database_url, TAX, 3)
    tax.fail_next = 0
    monkeypatch.setenv("LIANXIN_DATABASE_URL", database_url)
    capsys.readouterr()
    assert main(["replay", "--agency", TAX, "--batch", "2", "--json"]) == 0
    shown = capsys.readouterr()
    outcome = json.loads(shown.out)
    assert {k: outcome[k] for k in ("dry_run", "count", "replayed", "batches", "cancelled")} == {
        "dry_run": False,
        "count": 3,
        "replayed": 3,
        "batches": 2,
        "cancelled": False,
    }
    assert "batch 2: 3 replayed" in shown.err
    wait_until(lambda: handoffs_in(database_url, "delivered", TAX) == 3, 30, "redelivery")
