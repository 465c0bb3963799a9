"""Units of work the store's tests run: small, and each leaving a trace to look for."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg

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


@contextmanager
def psycopg_statements(note: Callable[[str, tuple[Any, ...]], None]) -> Iterator[None]:
    """Meanwhile, hand `note` each statement a psycopg cursor is given (in a pipeline or
    not) and its arguments, on every connection of the process."""
    saved = psycopg.Cursor.execute

    def execute(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        note(str(query), args)
        return saved(self, query, *args, **kwargs)

    psycopg.Cursor.execute = execute  # type: ignore[method-assign]
    try:
        yield
    finally:
        psycopg.Cursor.execute = saved  # type: ignore[method-assign]
