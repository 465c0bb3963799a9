"""Builders and database reads shared by the board tests."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import create_engine, select

from gateway.store.schema import audit_log, work_orders
from gateway.store.sql import normalise_url


def letter(title: str = "小区夜间施工噪音扰民", **changes: Any) -> dict[str, Any]:
    """A valid 市长信箱 letter, in the board's own field names (without its id)."""
    base = {
        "lx": "投诉",
        "bt": title,
        "nr": "某工地每晚十一点后仍在施工，影响休息。",
        "xm": "王女士",
        "dh": "13800001111",
        "dz": "天河区某路1号",
        "sj": "2026-11-24 21:30:00",
    }
    return {**base, **changes}


def orders_from(database_url: str, origin: str) -> list[str]:
    """The flow ids of the orders that came from `origin`."""
    engine = create_engine(normalise_url(database_url))
    try:
        with engine.connect() as conn:
            query = select(work_orders.c.flow_id).where(work_orders.c.origin == origin)
            return sorted(conn.execute(query).scalars())
    finally:
        engine.dispose()


def refusals(database_url: str, party: str) -> list[dict[str, Any]]:
    """The details of the 'refused' audit entries for `party`."""
    engine = create_engine(normalise_url(database_url))
    try:
        with engine.connect() as conn:
            query = (
                select(audit_log.c.detail)
                .where(audit_log.c.event == "refused", audit_log.c.party == party)
                .order_by(audit_log.c.seq)
            )
            return [json.loads(detail) for detail in conn.execute(query).scalars()]
    finally:
        engine.dispose()


def event(kind: str, event_id: str, **more: Any) -> dict[str, Any]:
    """A hotline event."""
    return {"type": kind, "event_id": event_id, "occurred_at": "2026-11-25T10:00:00+08:00", **more}


def status(client: httpx.Client, order_id: str) -> str:
    """The order's status as the API shows it."""
    return str(client.get(f"/v1/work-orders/{order_id}").json()["status"])


def order_id_for(hotline_transfers: list[dict[str, Any]], flow_id: str) -> str | None:
    """The id of the order the hotline received for a board message, once it has."""
    for transfer in list(hotline_transfers):
        if transfer["work_order"]["flow_id"] == flow_id:
            return str(transfer["order_id"])
    return None
