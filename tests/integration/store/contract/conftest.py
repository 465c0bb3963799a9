"""The stores the contract runs on: each test runs once on MemoryStore, once on SqlStore."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.bootstrap import open_sql_store
from gateway.service.ports.store import Store
from gateway.store.migrate import upgrade
from tests.fakes import MemoryStore


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh, empty store of each kind."""
    if request.param == "memory":
        made: Store = MemoryStore()
    else:
        url = f"sqlite:///{tmp_path / 'contract.db'}"
        upgrade(url)
        made = open_sql_store(url)
    yield made
    await made.aclose()
