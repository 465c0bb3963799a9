"""Replay of dead letters: a real outage, a dry-run count, a bulk replay, exactly once."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx
import pytest

from gateway.cli import main
from tests.conftest import Stack
from tests.integration.api.helpers import wait_until
from tests.integration.ops.helpers import (
    api_tokens,
    as_role,
    audit_events,
    handoffs_in,
    submit_orders,
    wait_for_dead,
)

TAX = "tax-12366"
N = 1000


@pytest.mark.slow  # left out of the fast tier (README, "Tests")
def test_a_thousand_dead_letters_replayed_after_an_outage_arrive_exactly_once(
    make_stack: Callable[..., Stack], database_url: str
) -> None:
    stack = make_stack(api_tokens=api_tokens())
    tax = stack.agencies[TAX]
    tax.fail_next, tax.fail_status = 10**9, 400  # refused outright: dead on the first attempt
    took = submit_orders(stack, N, "OUT")
    wait_for_dead(database_url, TAX, N)
    tax.fail_next = 0  # the agency recovers
    with httpx.Client(base_url=stack.url, headers=as_role("operator"), timeout=60) as client:
        listed = client.get("/v1/admin/deliveries", params={"state": "dead", "agency": TAX})
        assert listed.json()["total"] == N and len(listed.json()["deliveries"]) == 100
        dry = client.post("/v1/admin/replay", json={"agency": TAX, "dry_run": True})
        assert dry.json() == {"dry_run": True, "count": N}
        started = time.perf_counter()
        done = client.post("/v1/admin/replay", json={"agency": TAX, "dry_run": False}).json()
        replay_took = time.perf_counter() - started
    assert (done["replayed"], done["batches"], done["cancelled"]) == (N, 2, False)
    wait_until(lambda: tax.unique_deliveries() == N, 120, "every replayed order delivered")
    wait_until(lambda: handoffs_in(database_url, "delivered", TAX) == N, 30, "all recorded")
    assert tax.duplicates() == 0 and tax.outage_refusals == N
    replayed = [json.loads(d) for d in audit_events(database_url, "replayed")]
    assert len(replayed) == N and {d["by"] for d in replayed} == {"ops-li"}
    print(f"\n{N} orders in {took:.1f} s; replay of {N} dead letters took {replay_took:.2f} s")
    wait_until(lambda: len(stack.hotline.statuses) == N, 60, "the hotline told of each dispatch")
    wait_until(lambda: handoffs_in(database_url, "pending", "hotline") == 0, 30, "quiet outbox")
    time.sleep(0.5)  # let the last outcomes be written before reading the chain
    assert main(["audit", "verify", "--database", database_url]) == 0


def test_a_viewer_may_list_dead_letters_but_not_replay_them(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack(api_tokens=api_tokens())
    with httpx.Client(base_url=stack.url, headers=as_role("viewer")) as client:
        assert client.get("/v1/admin/deliveries").status_code == 200
        refused = client.post("/v1/admin/replay", json={"agency": TAX, "dry_run": True})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"


def test_a_replay_naming_an_unknown_agency_is_refused_with_a_suggestion(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack(api_tokens=api_tokens())
    with httpx.Client(base_url=stack.url, headers=as_role("operator")) as client:
        response = client.post("/v1/admin/replay", json={"agency": "tax-12365", "dry_run": True})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_agency"


def test_a_replay_with_a_window_that_ends_before_it_starts_is_refused(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack(api_tokens=api_tokens())
    window = {"since": "2026-11-27T10:00:00+08:00", "until": "2026-11-27T09:00:00+08:00"}
    with httpx.Client(base_url=stack.url, headers=as_role("operator")) as client:
        response = client.post("/v1/admin/replay", json={**window, "dry_run": False})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_input"


def test_a_replay_of_every_agency_at_once_is_refused_unless_it_is_a_dry_run(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack(api_tokens=api_tokens())
    with httpx.Client(base_url=stack.url, headers=as_role("operator")) as client:
        unbounded = client.post("/v1/admin/replay", json={"dry_run": False})
        counted = client.post("/v1/admin/replay", json={"dry_run": True})
    assert unbounded.status_code == 400 and counted.json() == {"dry_run": True, "count": 0}


def test_a_replay_without_an_explicit_dry_run_flag_is_refused(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack(api_tokens=api_tokens())
    with httpx.Client(base_url=stack.url, headers=as_role("operator")) as client:
        response = client.post("/v1/admin/replay", json={"agency": TAX})
    assert response.status_code == 422
