"""MemoryStore: the `Store` port over plain containers, for service tests without I/O.

Each unit of work runs on a copy of the tables and is kept only if it returns (see
`tests.fakes.state`); what it raises reaches the caller, as from the SQL store. Writes and
reads are suspension points, as they are there (the SQL store awaits its writer thread).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextvars import copy_context
from typing import TypeVar

from gateway.domain.audit import AuditRecord
from gateway.service.ports.store import OrderKey, Store, UnitOfWork
from tests.fakes.agencies import MemoryAgencies, MemoryStandings
from tests.fakes.audit import MemoryActivity, MemoryAuditLog
from tests.fakes.handoffs import MemoryHandoffs
from tests.fakes.keys import MemoryKeys, MemoryRetention
from tests.fakes.orders import MemoryCursors, MemoryInbound, MemoryOrders
from tests.fakes.security import MemorySecurity
from tests.fakes.state import MemoryState
from tests.fakes.watches import MemoryWatches

T = TypeVar("T")


class MemoryUnitOfWork:
    """The repositories of one unit of work, all over the same copy of the tables."""

    def __init__(self, state: MemoryState, clock: Callable[[], float]) -> None:
        self.orders = MemoryOrders(state)
        self.handoffs = MemoryHandoffs(state)
        self.handoff_queries = self.handoffs
        self.inbound = MemoryInbound(state)
        self.agencies = MemoryAgencies(state)
        self.standings = MemoryStandings(state)
        self.audit = MemoryAuditLog(state, clock)
        self.cursors = MemoryCursors(state)
        self.watches = MemoryWatches(state)
        self.keys = MemoryKeys(state)
        self.retention = MemoryRetention(state)
        self.activity = MemoryActivity(state)
        self.security = MemorySecurity(state)


class MemoryStore:
    """Runs each unit of work at once, atomically, on in-memory tables.

    `clock` stamps audit entries (pass the FixedClock the services under test use)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.state = MemoryState()
        self.closed = False

    async def write(
        self,
        work: Callable[[UnitOfWork], T],
        urgent: bool = False,
        audited: bool = True,
        looks_up: OrderKey | None = None,
    ) -> T:
        """Run `work` in one unit of work and keep what it wrote if it returns (each
        alone: `looks_up` leaves nothing to look up together)."""
        await asyncio.sleep(0)
        return self.run_sync(work)

    async def read(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run `work` like a write (the SQL store commits its reads too)."""
        await asyncio.sleep(0)
        return self.run_sync(work)

    def run_sync(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run `work` on a copy of the tables; swap the copy in only if it returns."""
        if self.closed:
            raise RuntimeError("the memory store is closed")
        working = self.state.copy()  # in a copy of the caller's context, as the SQL store
        result = copy_context().run(work, MemoryUnitOfWork(working, self.clock))
        self.state = working
        return result

    def audit_records(self) -> Iterator[AuditRecord]:
        """Every audit entry in sequence order."""
        return iter(list(self.state.audit))

    def audit_head(self) -> tuple[int, str]:
        """The last sequence number and hash of the chain."""
        return self.state.audit_head

    async def settle(self) -> None:
        """Nothing runs in the background here: every write ended when it returned."""

    async def aclose(self) -> None:
        """Refuse further work, as a closed SQL store does."""
        self.closed = True


def _is_a_store(store: MemoryStore) -> Store:
    """Never called: mypy checks here that MemoryStore fills the Store port."""
    return store


def _is_a_unit_of_work(uow: MemoryUnitOfWork) -> UnitOfWork:
    """Never called: mypy checks here that MemoryUnitOfWork fills the UnitOfWork port."""
    return uow
