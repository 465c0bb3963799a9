"""Units of work the store's tests run: small, and each leaving a trace to look for."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from typing import Any

from gateway.domain.audit import AuditEvent
from gateway.service.ports.store import OrderKey, Store, UnitOfWork


def noting(name: str) -> Callable[[UnitOfWork], str]:
    """A unit that appends an audit entry about `name`, saves a cursor of that name and
    returns the name."""

    def work(uow: UnitOfWork) -> str:
        uow.audit.append(AuditEvent("noted", order_id=name, party="system"))
        uow.cursors.save(name, "1", 1.0)
        return name

    return work


async def queue_behind_a_blocker(
    store: Store, works: list[Any], looking_up: Sequence[OrderKey | None] = ()
) -> list[Any]:
    """Hold the writer with one job, queue `works`, release: they run as one group.
    `looking_up`: for each work in turn, the flow it says it `looks_up` (None: none)."""
    gate = threading.Event()
    blocker = asyncio.ensure_future(store.write(lambda uow: gate.wait(10)))
    await asyncio.sleep(0.05)
    keys = [*looking_up, *[None] * (len(works) - len(looking_up))]
    queued = [
        asyncio.ensure_future(store.write(work, looks_up=key))
        for work, key in zip(works, keys, strict=True)
    ]
    await asyncio.sleep(0.05)
    gate.set()
    await blocker
    return await asyncio.gather(*queued, return_exceptions=True)
