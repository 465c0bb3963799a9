"""Builders shared by the operations tests: tokens by role, dead letters made for real."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import create_engine, func, select

from gateway.domain.workorder import WorkOrderIn
from gateway.store.schema import audit_log, handoffs
from tests.conftest import Stack
from tests.integration.api.helpers import order, wait_until

TOKENS = {role: f"{role}-{secrets.token_hex(16)}" for role in ("hotline", "operator", "viewer")}
HOLDERS = {"guangzhou-12345": "hotline", "ops-li": "operator", "watch-wang": "viewer"}


def api_tokens() -> dict[str, dict[str, str]]:
    """The LIANXIN_API_TOKENS value: a hotline, an operator and a viewer."""
    return {name: {"role": role, "token": TOKENS[role]} for name, role in HOLDERS.items()}


def as_role(role: str) -> dict[str, str]:
    """Headers carrying the token of `role`."""
    return {"authorization": f"Bearer {TOKENS[role]}"}


def submit_orders(stack: Stack, n: int, prefix: str, per_transaction: int = 100) -> float:
    """Take `n` tax consults in through the gateway's own intake, `per_transaction` per
    commit (as many HTTP requests would take minutes); seconds it took."""
    gw = stack.app.state.gateway
    started = time.perf_counter()
    now = datetime.now(UTC).isoformat()  # deadlines far ahead: no alerts to muddle the test
    for first in range(0, n, per_transaction):
        orders = [
            WorkOrderIn.model_validate(order(f"{prefix}-{k:05d}", received_at=now))
            for k in range(first, min(n, first + per_transaction))
        ]
        gw.store.run_sync(lambda uow, batch=orders: [gw.intake.accept(uow, o) for o in batch])
    return time.perf_counter() - started


def count_rows(database_url: str, table: Any, *where: Any) -> int:
    """SELECT count(*) straight from the database."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()
            )
    finally:
        engine.dispose()


def handoffs_in(database_url: str, state: str, agency: str) -> int:
    """How many of `agency`'s handoffs are in `state`."""
    return count_rows(
        database_url, handoffs, handoffs.c.state == state, handoffs.c.agency == agency
    )


def audit_events(database_url: str, event: str) -> list[str]:
    """The detail JSON of every audit entry named `event`."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            query = select(audit_log.c.detail).where(audit_log.c.event == event)
            return list(conn.execute(query).scalars())
    finally:
        engine.dispose()


def wait_for_dead(database_url: str, agency: str, n: int, timeout: float = 120) -> None:
    """Until `n` of `agency`'s handoffs are dead letters."""
    wait_until(lambda: handoffs_in(database_url, "dead", agency) >= n, timeout, f"{n} dead letters")


def delivered_three_dead_two(stack: Stack, database_url: str) -> None:
    """Tax gets three orders delivered, then two refused with a 400 (dead letters)."""
    tax = stack.agencies["tax-12366"]
    submit_orders(stack, 3, "OK")
    wait_until(lambda: handoffs_in(database_url, "delivered", "tax-12366") == 3, 15, "3 deliveries")
    tax.fail_next, tax.fail_status = 2, 400
    submit_orders(stack, 2, "BAD")
    wait_for_dead(database_url, "tax-12366", 2)
