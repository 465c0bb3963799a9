"""Readiness that means it, and a typed 503 when the database refuses a write.

`/readyz` goes false with a data key that cannot open what is stored, and with a database
that refuses writes: a full disk under SQLite (a small tmpfs) and a read-only PostgreSQL.
Meanwhile submissions get 503 `store_unavailable` with `Retry-After`, never a bare 500 or a
dropped connection, and nothing half-stored: every 202 is in the database, nothing else.
"""

from __future__ import annotations

import errno
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from alembic import command
from pydantic import SecretStr
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from gateway.crypto.sealing import generate_data_key
from gateway.store.migrate import alembic_config, upgrade
from gateway.store.schema import work_orders
from tests.conftest import POSTGRES_URL, Stack
from tests.integration.api.helpers import order, wait_until
from tests.integration.soap.test_hostile_xml import TRANSFER, signed


def stored_flow_ids(database_url: str) -> set[str]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return set(conn.execute(select(work_orders.c.flow_id)).scalars())
    finally:
        engine.dispose()


def submit_many(url: str, prefix: str, count: int) -> dict[str, httpx.Response]:
    answers = {}
    with httpx.Client(base_url=url, timeout=60) as client:
        for n in range(count):
            flow_id = f"{prefix}-{n}"
            answers[flow_id] = client.post("/v1/work-orders", json=order(flow_id))
    return answers


def assert_refused_typed(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "store_unavailable"
    assert int(response.headers["retry-after"]) >= 1


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 6 MiB tmpfs (this needs root, as the test machines have; it fails otherwise)."""
    where = tmp_path / "disk"
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.fail(f"cannot mount a small tmpfs (run as root): {mounted.stderr}", pytrace=False)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    with filler.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


class TestFullDisk:
    @pytest.fixture
    def database_url(self, small_disk: Path) -> str:
        return f"sqlite:///{small_disk / 'lianxin.db'}"

    @pytest.mark.slow  # left out of the fast tier (README, "Tests")
    def test_a_full_disk_gives_typed_503s_not_ready_and_nothing_half_stored(
        self, make_stack: Callable[..., Stack], small_disk: Path
    ) -> None:
        stack = make_stack()
        url = stack.settings.database_url
        assert httpx.get(f"{stack.url}/readyz").status_code == 200
        filler = fill(small_disk)
        answers = submit_many(stack.url, "FULL", 200)
        codes = [r.status_code for r in answers.values()]
        assert set(codes) <= {202, 503}, codes
        assert 503 in codes, "the disk is full: some write must have been refused"
        for response in answers.values():
            if response.status_code == 503:
                assert_refused_typed(response)
        ready = wait_until(
            lambda: (r := httpx.get(f"{stack.url}/readyz")).status_code == 503 and r,
            timeout=5,
            what="not ready while the disk is full",
        )
        assert "refuses to write" in ready.json()["reason"]
        refused = sum(r.status_code == 503 for r in answers.values())
        metrics = httpx.get(f"{stack.url}/metrics").text
        counted = next(
            line
            for line in metrics.splitlines()
            if line.startswith("lianxin_store_write_refusals_total ")
        )
        assert float(counted.split()[1]) >= refused
        filler.unlink()
        wait_until(lambda: httpx.get(f"{stack.url}/readyz").status_code == 200, what="ready")
        after = submit_many(stack.url, "AFTER", 3)
        assert {r.status_code for r in after.values()} == {202}
        accepted = {f for f, r in {**answers, **after}.items() if r.status_code == 202}
        assert stored_flow_ids(url) == accepted, "every 202 stored, nothing refused stored"


def test_a_wrong_data_key_makes_the_gateway_not_ready(make_stack: Callable[..., Stack]) -> None:
    right = make_stack(data_keys=[SecretStr(generate_data_key())])
    submitted = httpx.post(f"{right.url}/v1/work-orders", json=order("KEY-1"), timeout=30)
    assert submitted.status_code == 202
    assert httpx.get(f"{right.url}/readyz").status_code == 200
    wrong = make_stack(data_keys=[SecretStr(generate_data_key())])
    ready = httpx.get(f"{wrong.url}/readyz")
    assert ready.status_code == 503
    assert "LIANXIN_DATA_KEYS" in ready.json()["reason"]


class TestReadOnlyPostgres:
    @pytest.fixture
    def database_url(self, postgres_url: str) -> str:
        return postgres_url

    def test_a_read_only_database_gives_typed_503s_and_not_ready(
        self, make_stack: Callable[..., Stack], database_url: str
    ) -> None:
        stack = make_stack()
        assert httpx.get(f"{stack.url}/readyz").status_code == 200
        name = make_url(database_url).database
        read_only(name, True)
        try:
            answers = submit_many(stack.url, "RO", 5)
            for response in answers.values():
                assert_refused_typed(response)
            soap = httpx.post(f"{stack.url}/soap/police-110", content=signed(stack, TRANSFER))
            assert soap.status_code == 503 and "store_unavailable" in soap.text
            assert "soap:Server" in soap.text and int(soap.headers["retry-after"]) >= 1
            ready = httpx.get(f"{stack.url}/readyz")
            assert ready.status_code == 503 and "refuses to write" in ready.json()["reason"]
        finally:
            read_only(name, False)
        wait_until(lambda: httpx.get(f"{stack.url}/readyz").status_code == 200, what="ready")
        after = submit_many(stack.url, "RW", 2)
        assert {r.status_code for r in after.values()} == {202}
        assert stored_flow_ids(database_url) == set(after)


def read_only(database: str | None, on: bool) -> None:
    """Make `database` refuse writes (or take them again) and drop its sessions."""
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            setting = "on" if on else "off"
            conn.execute(
                text(f'ALTER DATABASE "{database}" SET default_transaction_read_only = {setting}')
            )
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"),
                {"d": database},
            )
        time.sleep(0.2)
    finally:
        admin.dispose()


def test_an_unreachable_mqtt_broker_makes_the_gateway_not_ready(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack(mqtt_url="mqtt://127.0.0.1:1")  # nothing listens on port 1
    ready = httpx.get(f"{stack.url}/readyz")
    assert ready.status_code == 503
    assert any("MQTT broker" in reason for reason in ready.json()["reasons"])


def test_a_schema_behind_the_code_makes_the_gateway_not_ready(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack()
    assert httpx.get(f"{stack.url}/readyz").status_code == 200
    command.downgrade(alembic_config(stack.settings.database_url), "-1")
    ready = httpx.get(f"{stack.url}/readyz")
    assert ready.status_code == 503
    assert any("database schema at" in reason for reason in ready.json()["reasons"])
    upgrade(stack.settings.database_url)
    assert httpx.get(f"{stack.url}/readyz").status_code == 200
