"""Shared fixtures: real databases, generated keys, and a running gateway with simulators.

PostgreSQL is the real server: LIANXIN_TEST_POSTGRES_URL if set, else the local one on
127.0.0.1:5432. Each test gets a database of its own, dropped afterwards. A server that
cannot be reached fails the test with the command that starts it; nothing is skipped.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from connectors.simulators.agency import AgencySimulator, Script
from connectors.simulators.customs12360 import CustomsSimulator
from connectors.simulators.hotline import HotlineSimulator
from connectors.simulators.police110 import Police110Simulator
from connectors.simulators.server import ServerThread
from connectors.simulators.utility import UtilitySimulator
from gateway.api.app import create_app
from gateway.settings import Settings
from gateway.signing import generate_ed25519_key, public_text_of

#: what a simulated 119/120 answers by default: accepted at once, then on to closed
EMERGENCY_SCRIPT = Script(
    steps=(("accepted", 0.05), ("dispatched", 0.05), ("arrived", 0.05), ("closed", 0.05)),
    result="现场处置完毕：已关闭燃气阀门并通风，无人员受伤。",
)
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


@dataclass
class Stack:
    """A gateway on a real port with a simulated hotline and agencies around it."""

    url: str
    settings: Settings
    hotline: HotlineSimulator
    agencies: dict[str, AgencySimulator]
    gateway_key: str
    agency_keys: dict[str, str] = field(default_factory=dict)
    police: Police110Simulator | None = None
    customs: CustomsSimulator | None = None
    utilities: dict[str, UtilitySimulator] = field(default_factory=dict)
    app: Any = None


@pytest.fixture
def make_stack(database_url: str) -> Iterator[Callable[..., Stack]]:
    """Build and start a Stack; everything stops when the test ends."""
    servers: list[ServerThread] = []
    stoppers: list[Callable[[], None]] = []

    def build(
        scripts: dict[str, Script] | None = None,
        mqtt: bool = False,
        more_endpoints: dict[str, str] | None = None,  # e.g. simulated message boards
        more_keys: dict[str, list[str]] | None = None,
        tracer_provider: Any = None,  # an OpenTelemetry SDK TracerProvider: traced
        **overrides: Any,
    ) -> Stack:
        gateway_key = generate_ed25519_key()
        public = public_text_of(gateway_key)
        hotline = HotlineSimulator([public])
        servers.append(ServerThread(hotline.app).start())
        gateway_server = ServerThread(None)  # reserve the port; the app comes below
        gateway_url = gateway_server.url
        agencies, keys, pubs, endpoints = {}, {}, {}, {}
        for agency in ("tax-12366", "city-management"):
            key = generate_ed25519_key()
            script = (scripts or {}).get(agency, Script(steps=()))
            sim = AgencySimulator(agency, gateway_url, [public], key, script, agency[:3].upper())
            server = ServerThread(sim.app).start()
            servers.append(server)
            agencies[agency], keys[agency] = sim, key
            pubs[agency], endpoints[agency] = [public_text_of(key)], f"{server.url}/orders"
        for agency, prefix in (("fire-119", "F119"), ("ambulance-120", "A120")):
            key = generate_ed25519_key()
            script = (scripts or {}).get(agency, EMERGENCY_SCRIPT)
            responder = AgencySimulator(agency, gateway_url, [public], key, script, prefix)
            server = ServerThread(responder.app).start()
            servers.append(server)
            agencies[agency], keys[agency] = responder, key
            pubs[agency], endpoints[agency] = [public_text_of(key)], f"{server.url}/incidents"
        endpoints["alert-channel"] = f"{servers[0].url}/alerts"
        police_key = generate_ed25519_key()
        police = Police110Simulator(gateway_url, [public], police_key)
        police_server = ServerThread(police.app).start()
        servers.append(police_server)
        keys["police-110"], pubs["police-110"] = police_key, [public_text_of(police_key)]
        endpoints["police-110"] = f"{police_server.url}/jcj"
        for kind in ("water", "power", "gas", "heat"):
            utility_key = generate_ed25519_key()
            keys[f"{kind}-utility"] = utility_key
            pubs[f"{kind}-utility"] = [public_text_of(utility_key)]
        customs_key = generate_ed25519_key()
        customs = CustomsSimulator(gateway_url, [public], customs_key)
        customs_server = ServerThread(customs.app).start()
        servers.append(customs_server)
        keys["customs-12360"], pubs["customs-12360"] = customs_key, [public_text_of(customs_key)]
        endpoints["customs-12360"] = f"{customs_server.url}/cases"
        values: dict[str, Any] = {
            "mqtt_url": MQTT_URL,
            "mqtt_topic_prefix": f"lianxin-test-{secrets.token_hex(4)}",
            "mqtt_session_expiry": 120,
            "node_id": f"test-{secrets.token_hex(4)}",
            "database_url": database_url,
            "hotline_callback_url": f"{servers[0].url}/callbacks",
            "agency_endpoints": {**endpoints, **(more_endpoints or {})},
            "agency_keys": {**pubs, **(more_keys or {})},
            "signing_keys": [SecretStr(gateway_key)],
            "poll_interval": 0.2,
            "open_api": True,  # no tokens here: tests that need them pass api_tokens
        }
        settings = Settings(**{**values, **overrides})
        app = create_app(settings, tracer_provider=tracer_provider)
        servers.append(gateway_server.start(app))
        utilities = {}
        if mqtt:
            require_mqtt()
            for kind in ("water", "power", "gas", "heat"):
                agency = f"{kind}-utility"
                sim = UtilitySimulator(agency, settings, [public], keys[agency]).start()
                utilities[agency] = sim
                stoppers.append(sim.stop)
        return Stack(
            gateway_url,
            settings,
            hotline,
            agencies,
            gateway_key,
            keys,
            police,
            customs,
            utilities,
            app,
        )

    yield build
    for stop in stoppers:
        stop()
    for server in reversed(servers):
        server.stop()
