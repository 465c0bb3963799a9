"""The inputs that once got a 500 on one database or the other, kept as a regression corpus.

Each is sent to a real gateway on SQLite and on PostgreSQL and must get the same typed
answer on both: 404 for an agency nobody has, 422 (or 400 for a signed agency message
whose body does not match the schema) for a value outside the bounds in
`gateway/domain/bounds.py`. Never a 500, and nothing is stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from gateway.bootstrap import open_sql_store
from gateway.domain.errors import OutOfBounds
from gateway.service.ports.store import UnitOfWork
from gateway.store.migrate import upgrade
from gateway.store.schema import work_orders
from tests.conftest import Stack
from tests.integration.api.helpers import order, signed_post

pytestmark = pytest.mark.both_databases  # the store is the subject: SQLite and PostgreSQL

FAR_OFFSET = "9999-12-31T23:59:59-23:59"
#: name → (method, path, JSON body or None, expected status, expected error code)
CORPUS: dict[str, tuple[str, str, Any, int, str]] = {
    "agency name of 51 characters": ("POST", "/v1/inbound/" + "a" * 51, {}, 404, "unknown_agency"),
    "agency name of 30,000 characters": (
        "POST",
        "/v1/inbound/" + "a" * 3_000,
        {},
        404,
        "unknown_agency",
    ),
    "NUL in the agency name": ("POST", "/v1/inbound/a%00b", {}, 404, "unknown_agency"),
    "NUL in the SOAP agency name": ("POST", "/soap/a%00b", None, 404, ""),
    "NUL in an order id": ("GET", "/v1/work-orders/wo_%00", None, 422, "validation_error"),
    "order id over 40 characters": (
        "GET",
        "/v1/work-orders/wo_" + "a" * 41,
        None,
        422,
        "validation_error",
    ),
    "event for an order id over 40 characters": (
        "POST",
        "/v1/work-orders/wo_" + "a" * 41 + "/events",
        {"type": "supervise", "event_id": "e-1", "occurred_at": "2026-11-24T08:00:00+08:00"},
        422,
        "validation_error",
    ),
    "NUL in flow_id": ("POST", "/v1/work-orders", order("GZ\x00-1"), 422, "validation_error"),
    "flow_id over 64 characters": (
        "POST",
        "/v1/work-orders",
        order("F" * 65),
        422,
        "validation_error",
    ),
    "revision 2^31": ("POST", "/v1/work-orders", order(revision=2**31), 422, "validation_error"),
    "revision 2^63": ("POST", "/v1/work-orders", order(revision=2**63), 422, "validation_error"),
    "received_at with offset -23:59 at the end of time": (
        "POST",
        "/v1/work-orders",
        order(received_at=FAR_OFFSET),
        422,
        "validation_error",
    ),
    "NUL in the title": ("POST", "/v1/work-orders", order(title="a\x00b"), 422, "validation_error"),
    "NUL in a partner id": (
        "POST",
        "/v1/work-orders",
        order(partner_ids={"police-110": "J\x001"}),
        422,
        "validation_error",
    ),
    "route_to an agency of 51 characters": (
        "POST",
        "/v1/work-orders",
        order(route_to=["a" * 51]),
        422,
        "validation_error",
    ),
    "NUL in a dead-letter filter": (
        "GET",
        "/v1/admin/deliveries?agency=a%00b",
        None,
        422,
        "validation_error",
    ),
}
SIGNED: dict[str, tuple[dict[str, Any], int, str]] = {
    "signed update with an order id over 40 characters": (
        {"order_id": "wo_" + "a" * 41},
        400,
        "invalid_input",
    ),
    "signed update with NUL in flow_id": ({"flow_id": "GZ\x001"}, 400, "invalid_input"),
    "signed update dated at the end of time with offset -23:59": (
        {"flow_id": "GZ-1", "occurred_at": FAR_OFFSET},
        400,
        "invalid_input",
    ),
}


@pytest.fixture
def stack(make_stack: Callable[..., Stack]) -> Stack:
    return make_stack()


@pytest.fixture
def client(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        yield client


def stored_orders(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(work_orders)).scalar_one())
    finally:
        engine.dispose()


def test_every_corpus_input_gets_its_typed_answer_and_stores_nothing(
    stack: Stack, client: httpx.Client
) -> None:
    answers = {}
    for name, (method, path, body, _status, _code) in CORPUS.items():
        response = (
            client.request(method, path, json=body)
            if body is not None
            else (client.request(method, path))
        )
        code = (
            response.json()["error"]["code"]
            if "json" in response.headers.get("content-type", "")
            else ""
        )
        answers[name] = (response.status_code, code)
    expected = {name: (status, code) for name, (_m, _p, _b, status, code) in CORPUS.items()}
    assert answers == expected
    assert stored_orders(stack.settings.database_url) == 0


def test_signed_agency_messages_outside_the_bounds_are_typed_refusals(
    stack: Stack, client: httpx.Client
) -> None:
    key = stack.agency_keys["tax-12366"]
    answers = {}
    for i, (name, (fields, _status, _code)) in enumerate(SIGNED.items()):
        update = {"type": "status", "status": "已签收", "occurred_at": "2026-11-24T08:00:00Z"}
        response = signed_post(client, "tax-12366", key, {**update, **fields}, f"m-{i}")
        answers[name] = (response.status_code, response.json()["error"]["code"])
    assert answers == {name: (status, code) for name, (_f, status, code) in SIGNED.items()}


def test_the_store_turns_what_its_database_refuses_into_out_of_bounds(database_url: str) -> None:
    """The last line: SQLite's OverflowError and PostgreSQL's DataError are one typed 422."""
    store = open_sql_store(database_url)

    def hostile(uow: UnitOfWork) -> None:
        conn = uow.orders.conn  # type: ignore[attr-defined]
        conn.execute(select(work_orders.c.id).where(work_orders.c.revision == 2**63))
        conn.execute(select(work_orders.c.id).where(work_orders.c.id == "wo_\x00"))

    upgrade(database_url)
    try:
        with pytest.raises(OutOfBounds) as refused:
            asyncio.run(store.write(hostile))
        assert (refused.value.http_status, refused.value.code) == (422, "out_of_bounds")
        assert not store.write_health.refusing, "a bad value is not a database refusing writes"
    finally:
        asyncio.run(store.aclose())
