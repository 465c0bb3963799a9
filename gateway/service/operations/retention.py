"""Retention: erase personal data from orders older than the retention period.

An order is due when it was created more than N days ago (LIANXIN_RETENTION_DAYS, or
`lianxin purge --days N`), has not been purged, and has no handoff still queued. Purging
blanks the caller's personal fields, empties the bodies of its settled handoffs and
records one `personal_data_purged` audit entry, which is also how a purged order is
known. The bodies kept of messages received more than N days ago (the agencies' signed
bytes, for evidence bundles) are dropped too: their signatures stay on record, and a
bundle then says their bodies are withheld. The audit chain holds only digests, so it
still verifies afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gateway.domain.audit import AuditEvent, AuditKind
from gateway.service.ports.store import UnitOfWork

PURGED = AuditKind.personal_data_purged
DAY = 86_400.0
Run = Callable[[Callable[[UnitOfWork], "PurgeReport"]], "PurgeReport"]


@dataclass(frozen=True)
class PurgeReport:
    """What one purge (or one batch of it) erased."""

    orders: int = 0
    fields: int = 0
    bodies: int = 0
    received: int = 0  # bodies of received messages dropped

    def __add__(self, other: PurgeReport) -> PurgeReport:
        return PurgeReport(
            self.orders + other.orders,
            self.fields + other.fields,
            self.bodies + other.bodies,
            self.received + other.received,
        )


def purge_batch(uow: UnitOfWork, now: float, days: int, limit: int) -> PurgeReport:
    """Purge up to `limit` due orders in this unit of work, each with its audit entry."""
    report = PurgeReport()
    for order_id in uow.retention.due_for_purge(now - days * DAY, limit):
        fields = uow.retention.erase_order(order_id)
        bodies = uow.retention.erase_bodies(order_id)
        detail = {"fields": fields, "handoff_bodies": bodies, "retention_days": days}
        uow.audit.append(AuditEvent(PURGED, order_id=order_id, party="system", detail=detail))
        report += PurgeReport(1, len(fields), bodies)
    return report


def purge(run: Run, now: float, days: int, batch: int = 500) -> PurgeReport:
    """Purge every due order, `batch` orders per transaction; `run` runs one transaction."""
    total = PurgeReport()
    while True:
        report = run(lambda uow: purge_batch(uow, now, days, batch))
        total += report
        if report.orders < batch:
            break
    return total + run(lambda uow: PurgeReport(received=_drop_received(uow, now - days * DAY)))


def _drop_received(uow: UnitOfWork, before: float) -> int:
    return uow.retention.erase_received_bodies(before)
