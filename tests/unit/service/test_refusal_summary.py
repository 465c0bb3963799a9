"""The refusal summary: counts per party, one entry per party per flush, nothing lost when
the write fails, the log bounded."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest

from gateway.domain.audit import AuditEvent
from gateway.service.operations.refusal_summary import SUMMARY_EVENT, RefusalSummary


class Audit:
    def __init__(self) -> None:
        self.entries: list[AuditEvent] = []

    def append(self, event: AuditEvent) -> None:
        self.entries.append(event)


class Store:
    """Just enough of the Store port: `write` runs the work on one audit list."""

    def __init__(self) -> None:
        self.audit = Audit()
        self.failing = False

    async def write(self, work: Callable[[Any], Any], *_args: Any, **_kwargs: Any) -> Any:
        if self.failing:
            raise OSError("disk full")
        return work(self)


class Counted:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def refused_unauthenticated(self, party: str, code: str) -> None:
        self.seen.append((party, code))


def summary(store: Store, metrics: Counted | None = None) -> tuple[RefusalSummary, list[float]]:
    now = [1_800_000_000.0]
    return RefusalSummary(store, lambda: now[0], 60.0, metrics), now  # type: ignore[arg-type]


def test_one_entry_per_party_with_counts_codes_and_first_and_last_seen() -> None:
    store, metrics = Store(), Counted()
    refusals, now = summary(store, metrics)
    for n in range(500):
        now[0] += 0.01
        refusals.note("unknown" if n % 2 else "tax-12366", "invalid_signature", "d" * 64)
    refusals.note("tax-12366", "client_certificate_required", "d" * 64)
    assert asyncio.run(refusals.flush()) == 2
    entries = {e.party: e for e in store.audit.entries}
    assert {e.event for e in entries.values()} == {SUMMARY_EVENT}
    tax = entries["tax-12366"].detail
    assert tax["count"] == 251
    assert tax["codes"] == {"client_certificate_required": 1, "invalid_signature": 250}
    assert tax["first_seen"] < tax["last_seen"]
    assert entries["unknown"].detail["count"] == 250
    assert len(metrics.seen) == 501
    assert asyncio.run(refusals.flush()) == 0, "nothing new: nothing written"


def test_a_failed_write_keeps_the_counts_for_the_next_interval() -> None:
    store = Store()
    refusals, _now = summary(store)
    refusals.note("unknown", "unknown_agency", "d")
    store.failing = True
    with pytest.raises(OSError):
        asyncio.run(refusals.flush())
    refusals.note("unknown", "unknown_agency", "d")
    store.failing = False
    asyncio.run(refusals.flush())
    assert [e.detail["count"] for e in store.audit.entries] == [2]


def test_the_log_has_one_line_per_party_and_code_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    refusals, _now = summary(Store())
    with caplog.at_level(logging.WARNING, "lianxin.refusals"):
        for _ in range(1_000):
            refusals.note("unknown", "unknown_agency", "d")
    assert len(caplog.records) == 1
    assert len(refusals.recent) == 256, "the recent list is bounded"
