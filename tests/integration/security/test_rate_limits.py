"""Rate limits per caller: past the limit a 429 with Retry-After, below it normal service,
and one caller's use never counts against another's."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from gateway.settings import ApiToken
from tests.conftest import Stack
from tests.integration.api.helpers import signed_post

TOKENS = {"hotline": "h" * 32, "admin": "a" * 32}


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """SQLite only: the limiter sits before any database work."""
    return sqlite_url


@pytest.fixture
def stack(make_stack: Callable[..., Stack]) -> Stack:
    return make_stack(
        open_api=False,
        api_tokens={
            f"test-{role}": ApiToken(role=role, token=SecretStr(token))  # type: ignore[arg-type]
            for role, token in TOKENS.items()
        },
        rate_limits={
            "hotline": "20/minute",
            "anonymous": "5/minute",
            "agency:tax-12366": "3/minute",
        },
    )


@pytest.fixture
def client(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        yield client


def bearer(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


def assert_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(response.headers["retry-after"]) <= 60


def test_a_token_holder_is_served_up_to_its_limit_then_gets_429(client: httpx.Client) -> None:
    below = [client.get("/v1/work-orders/wo_1", headers=bearer("hotline")) for _ in range(20)]
    assert {r.status_code for r in below} == {404}, "normal service below the limit"
    assert_limited(client.get("/v1/work-orders/wo_1", headers=bearer("hotline")))
    admin = client.get("/v1/work-orders/wo_1", headers=bearer("admin"))
    assert admin.status_code == 404, "another holder has its own budget"


def test_anonymous_callers_are_limited_by_address_and_probes_never(client: httpx.Client) -> None:
    below = [client.get("/v1/work-orders/wo_1") for _ in range(5)]
    assert {r.status_code for r in below} == {401}
    assert_limited(client.get("/v1/work-orders/wo_1"))
    assert_limited(client.post("/v1/inbound/nobody", content=b"{}"))
    assert client.get("/healthz").status_code == 200 and client.get("/readyz").status_code == 200
    assert client.get("/v1/work-orders/wo_1", headers=bearer("hotline")).status_code == 404


def test_an_agency_has_its_own_limit_on_its_routes(stack: Stack, client: httpx.Client) -> None:
    def post(agency: str, n: int) -> httpx.Response:
        update: dict[str, Any] = {
            "type": "status",
            "order_id": "wo_1",
            "status": "已签收",
            "occurred_at": "2026-11-24T08:00:00Z",
        }
        return signed_post(client, agency, stack.agency_keys[agency], update, f"m-{agency}-{n}")

    below = [post("tax-12366", n) for n in range(3)]
    assert {r.status_code for r in below} == {404}, "unknown order: served normally"
    assert_limited(post("tax-12366", 3))
    assert post("city-management", 0).status_code == 404, "another agency is not limited"
