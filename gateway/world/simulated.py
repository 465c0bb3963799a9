"""The simulated world: a 12345 hotline, the agencies around it and a gateway, on loopback.

One builder for the demo (`gateway/demo/stage.py`), the tests (`tests/conftest.py`,
`tests/e2e/console/stack.py`) and `lianxin simulators`: the same simulators, the same
endpoints and keys, the same case-number prefixes; only the pace of the agencies' answers
(`QUICK` for tests, `DEMO` for people watching) and the gateway's settings differ.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from typing import Any

from connectors.simulators.agency import AgencySimulator, Script
from connectors.simulators.customs12360 import CustomsSimulator
from connectors.simulators.hotline import HotlineSimulator
from connectors.simulators.police110 import Police110Simulator
from connectors.simulators.portal_board import PortalBoardSimulator
from connectors.simulators.server import ServerThread
from connectors.simulators.utility import UtilitySimulator
from gateway.crypto.signing import generate_ed25519_key, public_text_of
from gateway.settings import Settings
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
class Serving:
    """The world's simulators serving on loopback, for gateways in this process or others."""

    simulators: Simulators
    servers: dict[str, ServerThread]  # "hotline" and each agency of AGENCIES
    gateway_key: str  # the gateways' signing key (private)
    agency_keys: dict[str, str]  # agency → its private signing key

    def gateway_settings(self) -> dict[str, Any]:
        """The settings a gateway needs to reach these simulators and be trusted by them."""
        urls = {name: server.url for name, server in self.servers.items()}
        callbacks, endpoints, public = gateway_settings(urls, self.agency_keys)
        return {
            "hotline_callback_url": callbacks,
            "agency_endpoints": endpoints,
            "agency_keys": public,
            "signing_keys": [self.gateway_key],
            "mqtt_topic_prefix": f"lianxin-world-{secrets.token_hex(4)}",  # runs never mix
            "mqtt_session_expiry": 60,
        }

    def restart(self, name: str, down_for: float) -> None:
        """Take `name`'s server away (connections refused) for `down_for` s, then back."""
        old = self.servers[name]
        old.stop()
        time.sleep(down_for)
        self.servers[name] = ServerThread(old.server.config.app, port=old.port).start()

    def stop(self) -> None:
        """Stop every simulator's server, all at once (each takes a tick of uvicorn's loop)."""
        for server in self.servers.values():
            server.server.should_exit = True
        for server in reversed(self.servers.values()):
            server.stop()


def serve_simulators(
    stack: ExitStack,
    gateway_urls: list[str],
    pace: Pace = QUICK,
    scripts: Mapping[str, Script] | None = None,
) -> Serving:
    """Serve the hotline and the HTTP agencies; agencies post to the first gateway URL (the
    next ones when it fails). `scripts` replace the pace's script of some agencies."""
    if scripts:
        pace = replace(pace, scripts={**pace.scripts, **scripts})
    gateway_key = generate_ed25519_key()
    keys = new_agency_keys()
    public = [public_text_of(gateway_key)]
    cast = simulators(gateway_urls[0], public, keys, pace, tuple(gateway_urls[1:]))
    servers = {name: ServerThread(app).start() for name, app in cast.apps().items()}
    serving = Serving(cast, servers, gateway_key, keys)
    stack.callback(serving.stop)
    return serving


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
    gateway_server = ServerThread()  # its port is known before its app exists
    serving = serve_simulators(stack, [gateway_server.url], pace, scripts)
    values = serving.gateway_settings()
    if mayor is not None:
        mayor.trust([public_text_of(serving.gateway_key)])
        url = stack.enter_context(ServerThread(mayor.app)).url
        values["agency_endpoints"]["portal-mayor-mailbox"] = url
    values["agency_endpoints"].update(more_endpoints or {})
    values["agency_keys"].update(more_keys or {})
    values |= {"database_url": database_url, "node_id": f"world-{secrets.token_hex(4)}"}
    values |= overrides
    settings = Settings(**values)
    if make_app is None:
        from gateway.api.app import create_app

        make_app = create_app
    app = make_app(settings)
    gateway_server.start(app)
    stack.callback(gateway_server.stop)
    running: dict[str, UtilitySimulator] = {}
    if utilities:
        public = [public_text_of(serving.gateway_key)]
        keys, delay = serving.agency_keys, pace.utility_delay
        for agency in UTILITIES:
            sim = UtilitySimulator(agency, settings, public, keys[agency], delay=delay)
            stack.callback(sim.start().stop)
            running[agency] = sim
    cast = serving.simulators
    return World(
        gateway_server.url,
        settings,
        app,
        cast.hotline,
        cast.agencies,
        serving.gateway_key,
        serving.agency_keys,
        cast.police,
        cast.customs,
        running,
        mayor,
    )
