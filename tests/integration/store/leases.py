"""Claim tokens for store tests: read the one a claim wrote, or lease rows directly."""

from __future__ import annotations

from sqlalchemy import select, update

from gateway.domain.messages import HandoffState
from gateway.store.schema import handoffs
from gateway.store.sql import SqlStore


def claim_of(store: SqlStore, handoff_id: str) -> str | None:
    """The token of the claim that holds `handoff_id` now (None: never claimed)."""
    query = select(handoffs.c.claim).where(handoffs.c.id == handoff_id)
    with store.engine.connect() as conn:
        return conn.execute(query).scalar_one()


def lease(store: SqlStore, *ids: str) -> dict[str, str]:
    """Put handoffs in flight under claims of their own, as a claim would but without its
    due and FIFO checks (for tests that need failures on several rows of one order)."""
    tokens = {handoff_id: f"test-{n}" for n, handoff_id in enumerate(ids)}
    with store.engine.begin() as conn:
        for handoff_id, token in tokens.items():
            conn.execute(
                update(handoffs)
                .where(handoffs.c.id == handoff_id)
                .values(state=HandoffState.in_flight.value, claim=token)
            )
    return tokens
