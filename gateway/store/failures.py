"""SQL for the console's failed-delivery list: dead letters and handoffs being retried.

Kept apart from repositories.py so the read model the console needs (filter by state,
agency, window and error text; newest first, keyset pages) sits in one small place.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, select

from gateway.domain.errors import InputError
from gateway.domain.messages import HandoffState
from gateway.service.ports.queries import FailedDelivery, FailureQuery
from gateway.store.schema import handoffs, work_orders

_STATES = {
    "dead": (HandoffState.dead.value,),
    "retrying": (HandoffState.pending.value, HandoffState.in_flight.value),
    "any": (HandoffState.dead.value, HandoffState.pending.value, HandoffState.in_flight.value),
}
_COLUMNS = [
    handoffs.c[name]
    for name in (
        "seq",
        "id",
        "order_id",
        "agency",
        "state",
        "attempts",
        "last_error",
        "last_status",
        "created_at",
        "next_attempt_at",
    )
]


def _where(query: FailureQuery) -> list[ColumnElement[bool]]:
    """The WHERE clauses of `query`: a failed attempt on record, then each filter given."""
    states = _STATES.get(query.state)
    if states is None:
        raise InputError("state must be dead, retrying or any", state=query.state)
    c = handoffs.c
    where: list[ColumnElement[bool]] = [c.state.in_(states), c.last_error.is_not(None)]
    if query.agency is not None:
        where.append(c.agency == query.agency)
    if query.since is not None:
        where.append(c.created_at >= query.since)
    if query.until is not None:
        where.append(c.created_at < query.until)
    if query.error:
        where.append(func.lower(c.last_error).contains(query.error.lower(), autoescape=True))
    return where


def failures(
    conn: Connection, query: FailureQuery, before_seq: int | None, limit: int
) -> list[FailedDelivery]:
    """Failed handoffs matching `query` (older than `before_seq` if given), newest first."""
    joined = handoffs.outerjoin(work_orders, work_orders.c.id == handoffs.c.order_id)
    statement = select(*_COLUMNS, work_orders.c.document).select_from(joined)
    statement = statement.where(*_where(query))
    if before_seq is not None:
        statement = statement.where(handoffs.c.seq < before_seq)
    rows = conn.execute(statement.order_by(handoffs.c.seq.desc()).limit(limit))
    return [_failed(row._asdict()) for row in rows]


def count_failures(conn: Connection, query: FailureQuery) -> int:
    """How many failed handoffs match `query`."""
    statement = select(func.count()).select_from(handoffs).where(*_where(query))
    return int(conn.execute(statement).scalar_one())


def _failed(row: dict[str, Any]) -> FailedDelivery:
    document = row.pop("document")
    title = json.loads(document).get("title") if document else None  # not personal: not sealed
    return FailedDelivery(**{**row, "seq": int(row["seq"]), "title": title})
