"""`GET /v1/admin/agencies` on a running gateway after real deliveries and dead letters."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from gateway.mapping.profiles import CircuitPolicy
from gateway.service.delivery.circuit import Breakers
from tests.conftest import Stack
from tests.integration.ops.helpers import (
    api_tokens,
    as_role,
    delivered_three_dead_two,
)

TAX, CITY = "tax-12366", "city-management"


def test_agency_health_shows_real_deliveries_failures_pauses_and_circuits(
    make_stack: Callable[..., Stack], database_url: str
) -> None:
    stack = make_stack(api_tokens=api_tokens())
    delivered_three_dead_two(stack, database_url)
    gw = stack.app.state.gateway
    breakers = Breakers({CITY: CircuitPolicy(enabled=True, consecutive=1)})
    breakers.record(CITY, failed=True, now=gw.dispatcher.clock())  # one failure opens it
    gw.dispatcher.breakers = breakers
    with httpx.Client(base_url=stack.url) as client:
        client.post(f"/v1/admin/agencies/{CITY}/pause", headers=as_role("operator"))
        response = client.get("/v1/admin/agencies?window=600", headers=as_role("viewer"))
    assert response.status_code == 200, response.text
    rows = {row["agency"]: row for row in response.json()}
    seen = rows[TAX]
    assert (seen["delivered"], seen["failed"], seen["dead"], seen["backlog"]) == (3, 2, 2, 0)
    assert seen["success_rate"] == 0.6 and 0 < seen["p50_ms"] <= seen["p99_ms"] < 15_000
    assert "400" in seen["last_error"] and seen["last_error_at"].endswith("+00:00")
    assert (seen["circuit"], seen["paused"], seen["disabled"]) == ("off", False, False)
    assert (rows[CITY]["circuit"], rows[CITY]["paused"]) == ("open", True)
    assert rows["hotline"]["delivered"] >= 3  # the callbacks for the dispatched orders


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the API alone is tested
def test_a_window_out_of_range_is_a_typed_422(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack(api_tokens=api_tokens())
    with httpx.Client(base_url=stack.url, headers=as_role("viewer")) as client:
        for window in ("0", "-5", "abc", "nan", "inf", "9999999"):
            response = client.get(f"/v1/admin/agencies?window={window}")
            assert response.status_code == 422, (window, response.text)
            assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_only_staff_roles_may_read_agency_health(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack(api_tokens=api_tokens())
    with httpx.Client(base_url=stack.url) as client:
        assert client.get("/v1/admin/agencies", headers=as_role("hotline")).status_code == 403
        assert client.get("/v1/admin/agencies").status_code == 401
        assert client.get("/v1/admin/agencies", headers=as_role("operator")).status_code == 200
