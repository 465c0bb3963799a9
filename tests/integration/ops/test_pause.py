"""Pausing an agency holds its deliveries in the outbox; resuming sends them, on record."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx
import pytest

from connectors import TRANSPORTS
from gateway.bootstrap import open_sql_store
from gateway.cli import main
from gateway.mapping.loader import load_mappings
from gateway.service.directory import Directory
from gateway.service.operations import pausing
from gateway.settings import REPO_ROOT
from gateway.store.migrate import upgrade
from tests.conftest import Stack
from tests.integration.api.helpers import wait_until
from tests.integration.ops.helpers import (
    api_tokens,
    as_role,
    audit_events,
    handoffs_in,
    submit_orders,
)

TAX = "tax-12366"


def test_a_paused_agency_gets_nothing_until_it_is_resumed_and_then_everything_once(
    make_stack: Callable[..., Stack], database_url: str
) -> None:
    stack = make_stack(api_tokens=api_tokens())
    tax = stack.agencies[TAX]
    with httpx.Client(base_url=stack.url, headers=as_role("operator")) as client:
        paused = client.post(f"/v1/admin/agencies/{TAX}/pause", json={"reason": "系统升级"})
        assert paused.status_code == 200 and paused.json()["paused"] is True
        submit_orders(stack, 5, "PAUSE")
        time.sleep(1.0)  # five poll intervals: a running dispatcher would have delivered
        assert tax.unique_deliveries() == 0 and handoffs_in(database_url, "pending", TAX) == 5
        resumed = client.post(f"/v1/admin/agencies/{TAX}/resume")
        assert resumed.json()["paused"] is False and resumed.json()["changed_by"] == "ops-li"
    wait_until(lambda: tax.unique_deliveries() == 5, 15, "deliveries after the resume")
    assert tax.duplicates() == 0 and tax.outage_refusals == 0
    [paused_entry] = [json.loads(d) for d in audit_events(database_url, "agency_paused")]
    assert paused_entry == {"by": "ops-li", "reason": "系统升级"}
    [resumed_entry] = [json.loads(d) for d in audit_events(database_url, "agency_resumed")]
    assert resumed_entry == {"by": "ops-li", "was_disabled": False, "was_paused": True}


def test_pausing_one_agency_does_not_hold_another(
    make_stack: Callable[..., Stack], database_url: str
) -> None:
    stack = make_stack(api_tokens=api_tokens())
    with httpx.Client(base_url=stack.url, headers=as_role("operator")) as client:
        client.post("/v1/admin/agencies/city-management/pause")
    submit_orders(stack, 3, "OTHER")
    wait_until(lambda: stack.agencies[TAX].unique_deliveries() == 3, 15, "tax deliveries")


def test_a_viewer_may_not_pause_an_agency(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack(api_tokens=api_tokens())
    with httpx.Client(base_url=stack.url, headers=as_role("viewer")) as client:
        response = client.post(f"/v1/admin/agencies/{TAX}/pause")
    assert response.status_code == 403


def test_pausing_an_unknown_agency_is_refused(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack(api_tokens=api_tokens())
    with httpx.Client(base_url=stack.url, headers=as_role("operator")) as client:
        response = client.post("/v1/admin/agencies/tax-1236/pause")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_agency"


def test_the_cli_pauses_and_resumes_an_agency_on_record(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LIANXIN_DATABASE_URL", sqlite_url)
    assert main(["agencies", "pause", TAX, "--by", "ops-zhang", "--reason", "outage"]) == 0
    assert main(["agencies", "resume", TAX, "--by", "ops-zhang"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{TAX}: paused by ops-zhang") and out[1].startswith(
        f"{TAX}: resumed by ops-zhang"
    )
    assert [json.loads(d)["by"] for d in audit_events(sqlite_url, "agency_resumed")] == [
        "ops-zhang"
    ]
    assert main(["audit", "verify", "--database", sqlite_url]) == 0


def test_resuming_an_agency_also_clears_a_410_mark(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    store = open_sql_store(sqlite_url)
    directory = Directory.from_mappings(
        load_mappings(REPO_ROOT / "mappings", "routing/catalogue.toml", TRANSPORTS)
    )
    try:
        store.run_sync(lambda uow: uow.agencies.disable(TAX, "HTTP 410", 1.0))
        assert store.run_sync(lambda uow: uow.agencies.held(), writes=False) == {TAX}
        state = store.run_sync(lambda uow: pausing.resume(uow, directory, TAX, "ops-li", 2.0))
        assert (state.disabled, state.paused, state.changed_by) == (False, False, "ops-li")
        assert store.run_sync(lambda uow: uow.agencies.held(), writes=False) == set()
    finally:
        store.engine.dispose()
    [entry] = [json.loads(d) for d in audit_events(sqlite_url, "agency_resumed")]
    assert entry == {"by": "ops-li", "was_disabled": True, "was_paused": False}
