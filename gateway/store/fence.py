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
from typing import Any

from sqlalchemy import Connection, bindparam, update

from gateway.domain.messages import HandoffState
from gateway.store.plain import PlainWrite
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


def record(conn: Connection, handoff_id: str, claim: str | None, **values: Any) -> bool:
    """Write `values` on the handoff if `claim` still holds it; whether it did.

    A handoff copy that was never claimed (`claim` None) holds nothing."""
    if claim is None:
        return False
    return _RECORD.run(conn, {**values, "b_id": handoff_id, "b_claim": claim}) == 1
