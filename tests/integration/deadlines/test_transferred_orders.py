"""Matters 110 (双非) and portal boards transfer to the hotline get deadlines and cards."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import create_engine

from gateway.store.watches import SqlWatches
from tests.conftest import Stack
from tests.integration.api.helpers import deadlines_set, wait_until
from tests.integration.portals.conftest import MAYOR, Boards, boards
from tests.integration.portals.helpers import letter

__all__ = ["boards"]  # the message-board fixture, shared with tests/integration/portals


def armed_cards(database_url: str, order_id: str) -> list[tuple[str, str, str]]:
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            watched = SqlWatches(conn).for_order(order_id)
            return sorted((watch.kind, watch.level, state) for watch, state in watched)
    finally:
        engine.dispose()


def deadlines_entry(client: httpx.Client, order_id: str) -> dict[str, Any]:
    timeline = client.get(f"/v1/work-orders/{order_id}").json()["timeline"]
    return deadlines_set(timeline)


def test_a_case_110_transfers_gets_the_policys_deadlines_and_cards(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack()
    assert stack.police is not None
    result = asyncio.run(stack.police.push_case("J20261207000001", "小区门口占道经营，非警情"))
    assert result.Code == 0, stack.police.answers_failed
    order_id = result.ORDERID
    with httpx.Client(base_url=stack.url) as client:
        body = client.get(f"/v1/work-orders/{order_id}").json()
        entry = deadlines_entry(client, order_id)
    order = body["work_order"]
    received = datetime.fromisoformat(order["received_at"])
    due = order["due"]
    assert datetime.fromisoformat(due["acknowledge_by"]) - received == timedelta(minutes=30)
    assert due["resolve_by"].endswith("T23:59:59+08:00")
    assert (entry["origin"], entry["policy"], entry["time_zone"]) == (
        "police-110",
        "default",
        "Asia/Shanghai",
    )
    assert armed_cards(stack.settings.database_url, order_id) == [
        ("acknowledge", "red", "armed"),
        ("acknowledge", "yellow", "armed"),
        ("resolve", "red", "armed"),
        ("resolve", "yellow", "armed"),
    ]
    transfer = stack.hotline.transfers[0]
    assert transfer["work_order"]["due"] == due, "the hotline is told the deadlines"


def test_an_old_board_letter_gets_deadlines_and_its_red_cards_at_once(boards: Boards) -> None:
    stack = boards.stack
    flow_id = boards.mayor.add(**letter("十月来信，尚未处理", sj="2026-10-09 09:00:00"))
    wait_until(lambda: stack.hotline.transfers, what="the letter's order")
    order_id = stack.hotline.transfers[0]["order_id"]

    def red_cards() -> list[str]:
        return sorted(a for a in stack.hotline.alerts_for(order_id) if a.endswith("_red"))

    wait_until(lambda: len(red_cards()) == 2, what="both red cards")
    with httpx.Client(base_url=stack.url) as client:
        body = client.get(f"/v1/work-orders/{order_id}").json()
        entry = deadlines_entry(client, order_id)
    due = body["work_order"]["due"]
    # a complaint: 13 working days from Fri 9 Oct 2026 (Sat 10 Oct is a make-up working day)
    assert due["resolve_by"] == "2026-10-27T23:59:59+08:00"
    assert due["acknowledge_by"] == "2026-10-10T09:00:00+08:00"  # one day, per the policy
    assert (body["work_order"]["partner_ids"][MAYOR], entry["origin"]) == (flow_id, MAYOR)
    assert red_cards() == ["acknowledge_red", "resolve_red"]
    assert "resolve_yellow" not in stack.hotline.alerts_for(order_id), "no warning when late"
