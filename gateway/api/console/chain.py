"""The audit chain's status for the console: verified, or broken at which entry."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from itertools import takewhile

from gateway.domain.audit import AuditRecord
from gateway.service.audit import ChainReport, verify_chain
from gateway.service.ports.store import Store


@dataclass(frozen=True)
class ChainStatus:
    """The report of a full walk of the chain, with the head it was checked against."""

    report: ChainReport
    head_seq: int
    head_hash: str


def _verify(store: Store) -> ChainStatus:
    # the head first, then the entries up to it: entries appended while the walk runs
    # (the gateway keeps working) are left for the next check instead of looking like a cut
    head = store.audit_head()
    records: Iterator[AuditRecord] = store.audit_records()
    with closing(records):  # type: ignore[type-var]
        upto = takewhile(lambda record: record.seq <= head[0], records)
        report = verify_chain(upto, head)
    return ChainStatus(report, head[0], head[1])


async def chain_status(store: Store) -> ChainStatus:
    """Walk the whole chain off the event loop (it reads every entry)."""
    return await asyncio.to_thread(_verify, store)
