"""Units of work the store's tests run: small, and each leaving a trace to look for."""

from __future__ import annotations

from collections.abc import Callable

from gateway.domain.audit import AuditEvent
from gateway.service.ports.store import UnitOfWork


def noting(name: str) -> Callable[[UnitOfWork], str]:
    """A unit that appends an audit entry about `name`, saves a cursor of that name and
    returns the name."""

    def work(uow: UnitOfWork) -> str:
        uow.audit.append(AuditEvent("noted", order_id=name, party="system"))
        uow.cursors.save(name, "1", 1.0)
        return name

    return work
