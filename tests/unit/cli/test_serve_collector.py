"""`lianxin serve` sets the garbage collector up for serving once start-up is done."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from gateway.cli.serve import YOUNG_COLLECTION_AFTER, settle_collector


@pytest.fixture
def collector_restored() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("collector_restored")
def test_start_up_is_frozen_and_young_collections_wait_longer() -> None:
    older = gc.get_threshold()[1:]
    made_at_start_up: list[object] = [[], "a container the collector tracks"]
    assert any(o is made_at_start_up for o in gc.get_objects())
    settle_collector()
    assert not any(o is made_at_start_up for o in gc.get_objects())  # frozen: never walked
    assert gc.get_threshold() == (YOUNG_COLLECTION_AFTER, *older)
    assert YOUNG_COLLECTION_AFTER > 700  # Python's default


@pytest.mark.usefixtures("collector_restored")
def test_young_collections_still_run_by_themselves() -> None:
    """Without a `gc.collect()`: once enough new containers live, a young collection runs."""
    settle_collector()
    ran: list[int] = []

    def heard(phase: str, info: dict[str, int]) -> None:
        if phase == "stop":
            ran.append(info["generation"])

    gc.callbacks.append(heard)
    try:
        kept = [[n] for n in range(2 * YOUNG_COLLECTION_AFTER)]
    finally:
        gc.callbacks.remove(heard)
    assert len(kept) == 2 * YOUNG_COLLECTION_AFTER
    assert 0 in ran or 1 in ran or 2 in ran
