"""Shared fixtures: real databases, generated keys, and a running gateway with simulators.

PostgreSQL is the real server: LIANXIN_TEST_POSTGRES_URL if set, else the local one on
127.0.0.1:5432. Each test gets a database of its own, dropped afterwards. A server that
cannot be reached fails the test with the command that starts it; nothing is skipped.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from connectors.simulators.agency import AgencySimulator, Script
from connectors.simulators.customs12360 import CustomsSimulator
from connectors.simulators.hotline import HotlineSimulator
from connectors.simulators.police110 import Police110Simulator
from connectors.simulators.server import ServerThread
from gateway.api.app import create_app
from gateway.settings import Settings
from gateway.signing import generate_ed25519_key, public_text_of

POSTGRES_URL = os.environ.get(
    "LIANXIN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"


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


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs twice: on SQLite and on the real PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


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


@pytest.fixture
def make_stack(database_url: str) -> Iterator[Callable[..., Stack]]:
    """Build and start a Stack; everything stops when the test ends."""
    servers: list[ServerThread] = []

    def build(scripts: dict[str, Script] | None = None, **overrides: Any) -> Stack:
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
        police_key = generate_ed25519_key()
        police = Police110Simulator(gateway_url, [public], police_key)
        police_server = ServerThread(police.app).start()
        servers.append(police_server)
        keys["police-110"], pubs["police-110"] = police_key, [public_text_of(police_key)]
        endpoints["police-110"] = f"{police_server.url}/jcj"
        customs_key = generate_ed25519_key()
        customs = CustomsSimulator(gateway_url, [public], customs_key)
        customs_server = ServerThread(customs.app).start()
        servers.append(customs_server)
        keys["customs-12360"], pubs["customs-12360"] = customs_key, [public_text_of(customs_key)]
        endpoints["customs-12360"] = f"{customs_server.url}/cases"
        settings = Settings(
            database_url=database_url,
            hotline_callback_url=f"{servers[0].url}/callbacks",
            agency_endpoints=endpoints,
            agency_keys=pubs,
            signing_keys=[SecretStr(gateway_key)],
            poll_interval=0.2,
            **overrides,
        )
        servers.append(gateway_server.start(create_app(settings)))
        return Stack(gateway_url, settings, hotline, agencies, gateway_key, keys, police, customs)

    yield build
    for server in reversed(servers):
        server.stop()
