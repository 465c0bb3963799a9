"""Outbox rows and audit entries for the health tests, written through the store's own
repositories the way the dispatcher writes them (times chosen by the test)."""

from __future__ import annotations

import time

from gateway.domain.audit import AuditEvent
from gateway.domain.messages import Handoff, HandoffKind, Lane, Receipt
from gateway.service.audit import digest
from gateway.service.ports.store import UnitOfWork
from gateway.store.sql import SqlStore
from tests.integration.store.leases import lease


def queue(store: SqlStore, agency: str, n: int, created_at: float, prefix: str) -> list[str]:
    """Add `n` pending handoffs for `agency`; their ids."""
    ids = [f"msg_{prefix}{k:04d}" for k in range(n)]

    def add(uow: UnitOfWork) -> None:
        for handoff_id in ids:
            body = b'{"id":"%s"}' % handoff_id.encode()
            uow.handoffs.add(
                Handoff(
                    id=handoff_id,
                    order_id=f"wo_{handoff_id}",
                    agency=agency,
                    kind=HandoffKind.transfer,
                    lane=Lane.normal,
                    body=body,
                    body_digest=digest(body),
                    next_attempt_at=created_at,
                    created_at=created_at,
                )
            )

    store.run_sync(add)
    return ids


def deliver(store: SqlStore, agency: str, ids: list[str], at: float) -> None:
    """Record receipts for `ids` with `delivered_at` = `at`, audited now as `acknowledged`
    (the health window follows the audit trail's clock; `at` sets the latency)."""
    receipt = Receipt(200, "0" * 64)
    held = lease(store, *ids)

    def record(uow: UnitOfWork) -> None:
        for handoff_id in ids:
            uow.handoffs.delivered(handoff_id, held[handoff_id], at, receipt)
            uow.audit.append(AuditEvent("acknowledged", handoff_id=handoff_id, party=agency))

    store.run_sync(record)


def window_start() -> float:
    """A moment strictly between the audit entries written before and after this call."""
    time.sleep(0.02)
    start = time.time()
    time.sleep(0.02)
    return start


def fail(store: SqlStore, agency: str, ids: list[str], error: str, dead: bool) -> None:
    """One failed attempt each, audited as the dispatcher does; dead-lettered if `dead`."""
    held = lease(store, *ids) if dead else {}

    def record(uow: UnitOfWork) -> None:
        for handoff_id in ids:
            detail = {"attempt": 1, "error": error, "status": 503, "retryable": not dead}
            uow.audit.append(
                AuditEvent("failed", handoff_id=handoff_id, party=agency, detail=detail)
            )
            if dead:
                uow.handoffs.dead(handoff_id, held[handoff_id], error, 400)
                uow.audit.append(AuditEvent("dead_lettered", handoff_id=handoff_id, party=agency))

    store.run_sync(record)
