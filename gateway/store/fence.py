"""Outcomes fenced by their claim: only the attempt that holds a handoff records its result.

Every claim writes a fresh token on the handoffs it leases. A delivery attempt's outcome
(delivered, rescheduled, dead) is written by one UPDATE whose WHERE clause matches the
handoff's id, that token and the `in_flight` state, so the check and the write are one
statement on SQLite and PostgreSQL alike. An attempt whose lease ran out and whose
handoff was claimed again (or released by any other writer) matches no row: its late
result changes nothing, and the caller is told so.

On PostgreSQL the UPDATE takes the row's lock, so a concurrent claim of that row (FOR
UPDATE SKIP LOCKED) either runs before it, and the token no longer matches, or skips the
row until the outcome is committed.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, update

from gateway.domain.messages import HandoffState
from gateway.service.ports.store import Delivered
from gateway.store.plain import PlainWrite, ask
from gateway.store.schema import handoffs

_RECORD = PlainWrite(
    update(handoffs).where(
        handoffs.c.id == bindparam("b_id"),
        handoffs.c.claim == bindparam("b_claim"),
        handoffs.c.state == HandoffState.in_flight.value,
    )
)


def new_claim() -> str:
    """A token for one claim of one handoff (64 random bits)."""
    return secrets.token_hex(8)


#: every receipt of a batch in one UPDATE (PostgreSQL): the rows come as arrays, so the
#: text is the same for any batch and psycopg prepares it once
_DELIVERED_ALL = (
    "UPDATE handoffs AS h SET state = 'delivered', delivered_at = r.at,"
    " last_status = r.status, agency_ref = r.ref, last_error = NULL, lease_until = NULL"
    " FROM unnest(%s::text[], %s::text[], %s::float8[], %s::int[], %s::text[])"
    " AS r(id, claim, at, status, ref)"
    " WHERE h.id = r.id AND h.claim = r.claim AND h.state = 'in_flight'"
    " RETURNING h.id, h.claim"
)


def record_delivered(conn: Connection, receipts: Sequence[Delivered]) -> set[tuple[str, str]]:
    """Write each receipt whose claim still holds its handoff; the (id, claim) of each
    written. One statement on PostgreSQL; on SQLite, which has no round trips to save,
    one per receipt. A receipt with no claim (a copy never claimed) holds nothing."""
    held = [(r, r.claim) for r in receipts if r.claim is not None]
    if not held:
        return set()
    if conn.dialect.name != "postgresql":
        return {(r.handoff_id, claim) for r, claim in held if _record_one_delivered(conn, r)}
    columns = (
        [r.handoff_id for r, _ in held],
        [claim for _, claim in held],
        [r.at for r, _ in held],
        [r.receipt.status_code for r, _ in held],
        [r.receipt.agency_ref for r, _ in held],
    )
    return {(row[0], row[1]) for row in ask(conn, _DELIVERED_ALL, columns).rows}


def _record_one_delivered(conn: Connection, receipt: Delivered) -> bool:
    return record(
        conn,
        receipt.handoff_id,
        receipt.claim,
        state=HandoffState.delivered.value,
        delivered_at=receipt.at,
        last_status=receipt.receipt.status_code,
        agency_ref=receipt.receipt.agency_ref,
        last_error=None,
        lease_until=None,
    )


def record(conn: Connection, handoff_id: str, claim: str | None, **values: Any) -> bool:
    """Write `values` on the handoff if `claim` still holds it; whether it did.

    A handoff copy that was never claimed (`claim` None) holds nothing."""
    if claim is None:
        return False
    return _RECORD.run(conn, {**values, "b_id": handoff_id, "b_claim": claim}) == 1
