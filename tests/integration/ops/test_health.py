"""read_health on a real SQLite file and a real PostgreSQL database, from rows written the
way the dispatcher writes them (handoffs through the store, failures into the audit trail)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from connectors import TRANSPORTS
from gateway.bootstrap import open_sql_store
from gateway.mapping.loader import load_mappings
from gateway.service.directory import Directory
from gateway.service.views import health as health_module
from gateway.service.views.health import AgencyHealth, read_health
from gateway.settings import REPO_ROOT
from gateway.store.migrate import upgrade
from gateway.store.sql import SqlStore
from tests.integration.ops.health_rows import deliver, fail, queue, window_start

pytestmark = [  # the store is the subject; one worker: the module's fixture is made once
    pytest.mark.both_databases,
    pytest.mark.xdist_group("health-queries"),
]

TAX, CITY, FIRE = "tax-12366", "city-management", "fire-119"
HOUR = 3600.0


@pytest.fixture(scope="module")
def directory() -> Directory:
    """The repository's own agency profiles."""
    mappings = load_mappings(REPO_ROOT / "mappings", "routing/catalogue.toml", TRANSPORTS)
    return Directory.from_mappings(mappings)


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    """A migrated, empty store on SQLite and on PostgreSQL."""
    upgrade(database_url)
    opened = open_sql_store(database_url)
    yield opened
    opened.engine.dispose()


def health(
    store: SqlStore, directory: Directory, now: float, window: float = HOUR, **circuits: str
) -> dict[str, AgencyHealth]:
    """read_health by agency."""
    rows = store.run_sync(
        lambda uow: read_health(uow, directory, circuits, now, window), writes=False
    )
    return {row.agency: row for row in rows}


def test_counts_rates_and_percentiles_cover_only_the_window(
    store: SqlStore, directory: Directory
) -> None:
    now = time.time()
    old = queue(store, TAX, 5, now - 3 * HOUR, "old")
    deliver(store, TAX, old, now - 2 * HOUR)
    fail(store, TAX, queue(store, TAX, 2, now, "olddead"), "HTTP 503 before", dead=True)
    start = window_start()  # what was recorded before this is outside the window
    recent = queue(store, TAX, 100, now - 600, "new")
    for k, handoff_id in enumerate(recent):  # latencies 1 s … 100 s
        deliver(store, TAX, [handoff_id], now - 600 + k + 1)
    dead = queue(store, TAX, 4, now - 60, "dead")
    fail(store, TAX, dead, "HTTP 400: bad field", dead=True)
    queue(store, TAX, 3, now - 30, "wait")
    end = time.time()
    seen = health(store, directory, end, window=end - start)[TAX]
    assert (seen.delivered, seen.failed, seen.dead, seen.backlog) == (100, 4, 6, 3)
    assert seen.success_rate == pytest.approx(100 / 104)
    assert (seen.p50_ms, seen.p99_ms) == (50_000.0, 99_000.0)
    assert seen.display_name == "国家税务总局12366纳税缴费服务热线分中心"
    assert seen.last_error == "HTTP 400: bad field"
    assert seen.last_error_at is not None and start < seen.last_error_at <= end


def test_an_agency_with_nothing_in_the_window_has_no_rate_and_no_latency(
    store: SqlStore, directory: Directory
) -> None:
    deliver(store, CITY, queue(store, CITY, 2, time.time() - 10, "old"), time.time())
    fail(store, CITY, queue(store, CITY, 1, time.time(), "bad"), "HTTP 503", dead=False)
    start = window_start()
    now = time.time()
    seen = health(store, directory, now, window=now - start)
    assert set(seen) == set(directory.profiles)
    city = seen[CITY]
    assert (city.delivered, city.failed, city.backlog, city.dead) == (0, 0, 1, 0)
    assert (city.success_rate, city.p50_ms, city.p99_ms) == (None, None, None)
    assert (city.last_error, city.last_error_at, city.paused, city.disabled) == (
        None,
        None,
        False,
        False,
    )


def test_the_window_start_is_found_among_many_earlier_entries(
    store: SqlStore, directory: Directory
) -> None:
    before = queue(store, TAX, 300, time.time(), "before")
    fail(store, TAX, before, "HTTP 503 before", dead=True)
    start = window_start()
    after = queue(store, TAX, 3, time.time(), "after")
    fail(store, TAX, after[:2], "HTTP 503 after", dead=True)
    fail(store, TAX, after[2:], "timed out after 10 s", dead=False)  # rescheduled, not failed
    now = time.time()
    seen = health(store, directory, now, window=now - start)[TAX]
    assert (seen.failed, seen.dead, seen.backlog) == (2, 302, 1)
    assert seen.success_rate == 0.0 and seen.last_error == "timed out after 10 s"


def test_paused_and_disabled_agencies_say_so(store: SqlStore, directory: Directory) -> None:
    store.run_sync(lambda uow: uow.agencies.pause(CITY, "ops-li", "upgrade", 1.0))
    store.run_sync(lambda uow: uow.agencies.disable(TAX, "HTTP 410 Gone", 1.0))
    seen = health(store, directory, time.time())
    assert (seen[CITY].paused, seen[CITY].disabled) == (True, False)
    assert (seen[TAX].paused, seen[TAX].disabled) == (False, True)
    assert (seen[FIRE].paused, seen[FIRE].disabled) == (False, False)


def test_circuit_states_pass_through_and_agencies_without_one_are_off(
    store: SqlStore, directory: Directory
) -> None:
    seen = health(store, directory, time.time(), **{TAX: "open", CITY: "half_open"})
    assert (seen[TAX].circuit, seen[CITY].circuit, seen[FIRE].circuit) == (
        "open",
        "half_open",
        "off",
    )


def test_the_last_error_is_masked_and_cut_short(store: SqlStore, directory: Directory) -> None:
    ids = queue(store, TAX, 1, time.time(), "long")
    fail(store, TAX, ids, "caller 13812345678 " + "x" * 300, dead=False)
    error = health(store, directory, time.time())[TAX].last_error
    assert error is not None and "13812345678" not in error
    assert len(error) == 160 and error.endswith("…")


def test_percentiles_use_only_the_newest_sample_of_deliveries(
    store: SqlStore, directory: Directory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health_module, "SAMPLE", 20)  # 2,000 in service: same query, quicker
    now = time.time()
    slow = queue(store, TAX, 100, now - 900, "slow")
    deliver(store, TAX, slow, now - 800)  # 100 s each, older than the sample
    fast = queue(store, TAX, 20, now - 100, "fast")
    deliver(store, TAX, fast, now - 99)  # 1 s each, the newest 20
    seen = health(store, directory, time.time())[TAX]
    assert seen.delivered == 120 and seen.p99_ms == pytest.approx(1000.0, abs=1)


def test_a_window_out_of_range_is_refused(store: SqlStore, directory: Directory) -> None:
    from gateway.domain.errors import InputError

    for window in (0.0, -1.0, float("nan"), 40 * 86_400.0):
        with pytest.raises(InputError, match="window"):
            health(store, directory, time.time(), window=window)
