"""Audit verification rate: the whole chain read in one snapshot and re-hashed.

The ceiling is the same verification over the same entries already in memory: the cost
of the hashing itself, without the database read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from gateway.bootstrap import open_sql_store
from gateway.service.audit import verify_chain


@dataclass(frozen=True)
class AuditRate:
    """Entries verified per second from the database, and from memory."""

    entries: int
    rate: float
    in_memory_rate: float


def audit_rate(database_url: str) -> AuditRate:
    """Verify the chain as `lianxin audit verify` does, timed; then again from memory."""
    store = open_sql_store(database_url)
    try:
        started = time.perf_counter()
        with store.audit_snapshot() as (head, records):
            report = verify_chain(records, head)
        elapsed = time.perf_counter() - started
        if not report.ok:
            raise RuntimeError(f"audit chain broken at {report.seq}: {report.problem}")
        with store.audit_snapshot() as (head, records):
            held = list(records)
        started = time.perf_counter()
        verify_chain(held, head)
        in_memory = time.perf_counter() - started
    finally:
        store.engine.dispose()
    return AuditRate(report.entries, report.entries / elapsed, report.entries / in_memory)
