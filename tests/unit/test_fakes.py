"""The fakes' own promises: a clock that moves only when told, a store that fills the port
and refuses work once closed (their store semantics: tests/integration/store/contract)."""

from __future__ import annotations

import pytest

from gateway.service.audit import GENESIS
from gateway.service.ports.store import Store
from tests.fakes import FixedClock, MemoryStore


def test_a_fixed_clock_stands_still_until_advanced() -> None:
    clock = FixedClock(1000.0)
    assert (clock(), clock()) == (1000.0, 1000.0)
    assert clock.advance(2.5) == 1002.5
    assert clock() == 1002.5


def test_a_fixed_clock_does_not_go_back() -> None:
    clock = FixedClock(1000.0)
    with pytest.raises(ValueError, match="does not go back"):
        clock.advance(-1)
    assert clock() == 1000.0


def test_a_new_memory_store_has_an_empty_chain() -> None:
    store: Store = MemoryStore()  # mypy checks the fakes fill the port (tests.fakes.store)
    assert store.audit_head() == (0, GENESIS)
    assert list(store.audit_records()) == []


async def test_a_closed_memory_store_refuses_work() -> None:
    store = MemoryStore()
    await store.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await store.write(lambda uow: uow.inbound.remember("tax", "m1", 1.0))
