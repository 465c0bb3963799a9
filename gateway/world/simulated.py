"""The simulated world: a 12345 hotline, the agencies around it and a gateway, on loopback.

One builder for the demo (`gateway/demo_stage.py`), the tests (`tests/conftest.py`,
`tests/e2e/console/stack.py`) and `lianxin simulators`: the same simulators, the same
endpoints and keys, the same case-number prefixes; only the pace of the agencies' answers
(`QUICK` for tests, `DEMO` for people watching) and the gateway's settings differ.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from connectors.simulators.agency import AgencySimulator, Script
from connectors.simulators.customs12360 import CustomsSimulator
from connectors.simulators.hotline import HotlineSimulator
from connectors.simulators.police110 import Police110Simulator
from connectors.simulators.portal_board import PortalBoardSimulator
from connectors.simulators.server import ServerThread
from connectors.simulators.utility import UtilitySimulator
from gateway.settings import Settings
from gateway.signing import generate_ed25519_key, public_text_of
from gateway.world import AGENCIES, REST_AGENCIES, UTILITIES


@dataclass(frozen=True)
class Pace:
    """How the simulated agencies answer: each REST agency's script and the others' delay."""

    scripts: Mapping[str, Script]
    police_delay: float = 0.05
    customs_delay: float = 0.05
    utility_delay: float = 0.05

    def script(self, agency: str) -> Script:
        """The script of `agency` (none: it accepts and says nothing more)."""
        return self.scripts.get(agency, Script(steps=()))


#: what a simulated 119/120 answers in tests: accepted at once, then on to closed
QUICK_EMERGENCY = Script(
    steps=(("accepted", 0.05), ("dispatched", 0.05), ("arrived", 0.05), ("closed", 0.05)),
    result="现场处置完毕：已关闭燃气阀门并通风，无人员受伤。",
)
#: tests: 12366 and city management only accept (a test scripts what it needs)
QUICK = Pace({"fire-119": QUICK_EMERGENCY, "ambulance-120": QUICK_EMERGENCY})
#: the demo: slow enough to follow on a console; 120 answers after its (demo) deadline
DEMO = Pace(
    {
        "tax-12366": Script(
            steps=(("已签收", 0.3), ("办理中", 0.5), ("已办结", 0.5)),
            result="已电话告知纳税人专项附加扣除的填报路径，纳税人表示清楚。",
        ),
        "city-management": Script(
            steps=(("accepted", 0.3), ("working", 0.5), ("closed", 0.5)),
            result="执法队员已到场核查，责令整改，现场已恢复正常。",
        ),
        "fire-119": Script(
            steps=(("accepted", 0.2), ("dispatched", 0.3), ("arrived", 0.5), ("closed", 0.5)),
            result="现场处置完毕，无人员受伤。",
        ),
        "ambulance-120": Script(
            steps=(("accepted", 5.0), ("dispatched", 0.3), ("arrived", 0.5), ("closed", 0.5)),
            result="患者已送医，生命体征平稳。",
        ),
    },
    police_delay=0.4,
    customs_delay=0.4,
    utility_delay=0.3,
)


def new_agency_keys() -> dict[str, str]:
    """A fresh Ed25519 signing key per simulated agency (the utilities included)."""
    return {agency: generate_ed25519_key() for agency in (*AGENCIES, *UTILITIES)}


@dataclass
class Simulators:
    """The hotline and the HTTP agencies, not yet serving: `apps()` are their ASGI apps."""

    hotline: HotlineSimulator
    agencies: dict[str, AgencySimulator]
    police: Police110Simulator
    customs: CustomsSimulator

    def apps(self) -> dict[str, Any]:
        """ "hotline" and each agency of AGENCIES → its ASGI application."""
        rest = {agency: sim.app for agency, sim in self.agencies.items()}
        return {
            "hotline": self.hotline.app,
            **rest,
            "police-110": self.police.app,
            "customs-12360": self.customs.app,
        }


def simulators(
    gateway_url: str,
    gateway_keys: list[str],
    agency_keys: Mapping[str, str],
    pace: Pace = QUICK,
    other_gateways: tuple[str, ...] = (),
) -> Simulators:
    """The world's hotline and agencies, verifying `gateway_keys` and posting to `gateway_url`."""
    agencies = {
        agency: AgencySimulator(
            agency,
            gateway_url,
            gateway_keys,
            agency_keys[agency],
            pace.script(agency),
            AGENCIES[agency][1],
            other_gateways=other_gateways,
        )
        for agency in REST_AGENCIES
    }
    police = Police110Simulator(
        gateway_url, gateway_keys, agency_keys["police-110"], delay=pace.police_delay
    )
    customs = CustomsSimulator(
        gateway_url, gateway_keys, agency_keys["customs-12360"], delay=pace.customs_delay
    )
    return Simulators(HotlineSimulator(gateway_keys), agencies, police, customs)


def gateway_settings(
    urls: Mapping[str, str], agency_keys: Mapping[str, str]
) -> tuple[str, dict[str, str], dict[str, list[str]]]:
    """(callback URL, agency endpoints, agencies' public keys) for simulators at `urls`
    ("hotline" and each agency of AGENCIES → http://host:port)."""
    endpoints = {agency: f"{urls[agency]}{AGENCIES[agency][0]}" for agency in AGENCIES}
    endpoints["alert-channel"] = f"{urls['hotline']}/alerts"
    public = {agency: [public_text_of(key)] for agency, key in agency_keys.items()}
    return f"{urls['hotline']}/callbacks", endpoints, public


@dataclass
class World:
    """A running gateway on a real port with the simulated hotline and agencies around it."""

    url: str
    settings: Settings
    app: Any
    hotline: HotlineSimulator
    agencies: dict[str, AgencySimulator]
    gateway_key: str
    agency_keys: dict[str, str]  # agency → its private signing key
    police: Police110Simulator
    customs: CustomsSimulator
    utilities: dict[str, UtilitySimulator] = field(default_factory=dict)
    mayor: PortalBoardSimulator | None = None

    @property
    def gateway_url(self) -> str:
        """The gateway's base URL."""
        return self.url

    @property
    def database_url(self) -> str:
        """The gateway's database."""
        return self.settings.database_url


def build_world(
    stack: ExitStack,
    database_url: str,
    *,
    pace: Pace = QUICK,
    scripts: Mapping[str, Script] | None = None,
    utilities: bool = False,
    mayor: PortalBoardSimulator | None = None,
    more_endpoints: Mapping[str, str] | None = None,
    more_keys: Mapping[str, list[str]] | None = None,
    make_app: Callable[[Settings], Any] | None = None,
    **overrides: Any,
) -> World:
    """Start the simulators and a gateway on `database_url`; `stack` stops them all.

    `scripts` replace the pace's script of some agencies; `utilities` starts the four MQTT
    utility companies on `overrides["mqtt_url"]` (or the default broker); `mayor` serves a
    message board as the mayor's mailbox; `overrides` are the gateway's Settings over the
    world's (its endpoints, keys, a fresh MQTT topic prefix and node id).
    """
    if scripts:
        pace = Pace({**pace.scripts, **scripts}, pace.police_delay, pace.customs_delay)
    gateway_key = generate_ed25519_key()
    public = [public_text_of(gateway_key)]
    gateway_server = ServerThread()  # its port is known before its app exists
    keys = new_agency_keys()
    cast = simulators(gateway_server.url, public, keys, pace)
    urls = {name: stack.enter_context(ServerThread(app)).url for name, app in cast.apps().items()}
    callbacks, endpoints, agency_public = gateway_settings(urls, keys)
    if mayor is not None:
        mayor.trust(public)
        endpoints["portal-mayor-mailbox"] = stack.enter_context(ServerThread(mayor.app)).url
    values: dict[str, Any] = {
        "database_url": database_url,
        "hotline_callback_url": callbacks,
        "agency_endpoints": {**endpoints, **(more_endpoints or {})},
        "agency_keys": {**agency_public, **(more_keys or {})},
        "signing_keys": [SecretStr(gateway_key)],
        "mqtt_topic_prefix": f"lianxin-world-{secrets.token_hex(4)}",  # runs never mix
        "mqtt_session_expiry": 60,
        "node_id": f"world-{secrets.token_hex(4)}",
        **overrides,
    }
    settings = Settings(**values)
    if make_app is None:
        from gateway.api.app import create_app

        make_app = create_app
    app = make_app(settings)
    gateway_server.start(app)
    stack.callback(gateway_server.stop)
    running: dict[str, UtilitySimulator] = {}
    if utilities:
        for agency in UTILITIES:
            sim = UtilitySimulator(agency, settings, public, keys[agency], delay=pace.utility_delay)
            stack.callback(sim.start().stop)
            running[agency] = sim
    return World(
        gateway_server.url,
        settings,
        app,
        cast.hotline,
        cast.agencies,
        gateway_key,
        keys,
        cast.police,
        cast.customs,
        running,
        mayor,
    )
