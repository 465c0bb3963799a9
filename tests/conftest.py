"""Shared fixtures: real databases, and the simulated world (gateway/world) around a gateway.

PostgreSQL is the real server: LIANXIN_TEST_POSTGRES_URL if set, else the local one on
127.0.0.1:5432. Each test gets a database of its own, dropped afterwards. A server that
cannot be reached fails the test with the command that starts it; nothing is skipped.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from connectors.simulators.agency import Script
from gateway.api.app import create_app
from gateway.domain.workorder import WorkOrder
from gateway.store.documents import read_document
from gateway.store.migrate import upgrade
from gateway.store.opened_orders import Opened
from gateway.store.repositories import SqlOrders
from gateway.world.simulated import World, build_world

POSTGRES_URL = os.environ.get(
    "LIANXIN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
MQTT_URL = os.environ.get("LIANXIN_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")
START_MOSQUITTO = "mosquitto -d -c /etc/mosquitto/mosquitto.conf"


def require_mqtt() -> None:
    """Fail (never skip) with the command to start the broker when it does not answer."""
    url = urlparse(MQTT_URL)
    try:
        socket.create_connection((url.hostname or "127.0.0.1", url.port or 1883), 2).close()
    except OSError as exc:
        pytest.fail(
            f"no MQTT broker at {MQTT_URL} ({exc}). Start one with `{START_MOSQUITTO}` "
            "or set LIANXIN_TEST_MQTT_URL.",
            pytrace=False,
        )


def _admin_engine() -> Any:
    engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_URL} ({type(exc).__name__}). "
            f"Start it with `{START_POSTGRES}` or set LIANXIN_TEST_POSTGRES_URL.",
            pytrace=False,
        )
    return engine


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    admin = _admin_engine()
    name = f"lianxin_t_{secrets.token_hex(6)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A new SQLite file for one test."""
    return f"sqlite:///{tmp_path / 'lianxin.db'}"


#: LIANXIN_TEST_DATABASES=all runs every test that takes `database_url` on both databases
ALL_DATABASES = os.environ.get("LIANXIN_TEST_DATABASES", "") == "all"


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite, and also the real PostgreSQL in modules marked `both_databases`."""
    if getattr(request, "param", "sqlite") == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Which databases a test that takes `database_url` (directly or through `make_stack`) runs
    on: both where the store is the subject (`pytestmark = pytest.mark.both_databases`),
    SQLite alone where the database is not what the test is about."""
    if "database_url" not in metafunc.fixturenames:
        return
    defs = metafunc._arg2fixturedefs.get("database_url")
    if not defs or getattr(defs[-1].func, "__module__", None) != __name__:
        return  # a module or class gives its own database_url
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0]
        listed = names if isinstance(names, list | tuple) else names.replace(" ", "").split(",")
        if "database_url" in listed:
            return  # the test chose itself
    both = ALL_DATABASES or metafunc.definition.get_closest_marker("both_databases")
    kinds = ["sqlite", "postgres"] if both else ["sqlite"]
    metafunc.parametrize("database_url", kinds, indirect=True)


#: a gateway on a real port with the simulated hotline and agencies around it
Stack = World


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with every migration applied, made once per test process."""
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def make_stack(database_url: str, migrated_sqlite: Path) -> Iterator[Callable[..., Stack]]:
    """Build and start the simulated world (gateway/world); everything stops when the test ends.

    A SQLite database nobody has made yet starts as a copy of `migrated_sqlite` (the
    gateway's own upgrade then finds nothing to do): the same schema, a second less."""
    file = database_url.removeprefix("sqlite:///")
    if file != database_url and not Path(file).exists():
        shutil.copyfile(migrated_sqlite, file)
    with ExitStack() as stack:

        def build(
            scripts: dict[str, Script] | None = None,
            mqtt: bool = False,
            more_endpoints: dict[str, str] | None = None,  # e.g. simulated message boards
            more_keys: dict[str, list[str]] | None = None,
            tracer_provider: Any = None,  # an OpenTelemetry SDK TracerProvider: traced
            **overrides: Any,
        ) -> Stack:
            if mqtt:
                require_mqtt()
            values: dict[str, Any] = {
                "mqtt_url": MQTT_URL,
                "mqtt_session_expiry": 120,
                "poll_interval": 0.2,
                "open_api": True,  # no tokens here: tests that need them pass api_tokens
                **overrides,
            }
            return build_world(
                stack,
                database_url,
                scripts=scripts,
                utilities=mqtt,
                more_endpoints=more_endpoints,
                more_keys=more_keys,
                make_app=lambda settings: create_app(settings, tracer_provider=tracer_provider),
                **values,
            )

        yield build


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    """Finished spans, kept in memory (see tests/integration/spans.py)."""
    return InMemorySpanExporter()


@pytest.fixture(autouse=True)
def kept_orders_match_their_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every order the store hands out from its kept orders (gateway.store.opened_orders)
    is checked, in every test, against its stored text read in full: a kept order that
    differs from what a fresh read gives fails the test that read it."""
    kept_or_read = SqlOrders._opened

    def checked(orders: SqlOrders, order_id: str, text: str) -> Opened:
        opened = kept_or_read(orders, order_id, text)
        fresh = orders.seal.open_document(read_document(text))
        kept = opened.order.model_dump_json() if opened.order else None  # types, time zones
        read = WorkOrder.model_validate(fresh).model_dump_json()
        assert kept == read, f"kept order {order_id} differs from its text read in full"
        assert orders.seal.kept_seals(opened.sealed, opened.plain) == orders.seal.kept_seals(
            read_document(text), fresh
        ), f"kept seals of order {order_id} differ"
        return opened

    monkeypatch.setattr(SqlOrders, "_opened", checked)
