"""The demo's stage: the simulated world (gateway/world) at the demo's pace, on loopback."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from connectors.simulators.agency import AgencySimulator
from connectors.simulators.customs12360 import CustomsSimulator
from connectors.simulators.hotline import HotlineSimulator
from connectors.simulators.police110 import Police110Simulator
from connectors.simulators.portal_board import PortalBoardSimulator
from connectors.simulators.utility import UtilitySimulator
from gateway.crypto.sealing import generate_data_key
from gateway.crypto.signing import generate_ed25519_key
from gateway.demo.evidence import WITNESS_FILE
from gateway.settings import REPO_ROOT, ApiToken
from gateway.world.broker import find_broker
from gateway.world.simulated import DEMO, World, build_world

#: city management refuses this many deliveries (503), then is back: the outage ends once
#: the gateway has met it, so the report's retry holds however busy the machine is
OUTAGE_REFUSALS = 1
MAYOR = "portal-mayor-mailbox"
#: the demo's changes to the real mapping files, so that it runs in seconds
DEMO_MAPPINGS = {
    "agencies/ambulance-120.toml": ("acknowledge_seconds = 60", "acknowledge_seconds = 3"),
    f"agencies/{MAYOR}.toml": ("poll_interval = 60", "poll_interval = 1"),
}


@dataclass
class Stage:
    """The running world of the demo, with what the demo itself needs."""

    world: World
    mayor: PortalBoardSimulator
    broker_note: str
    hotline_token: str  # the demo's own API token (the API is closed without one)

    @property
    def gateway_url(self) -> str:
        """The gateway's base URL."""
        return self.world.url

    @property
    def database_url(self) -> str:
        """The gateway's SQLite file."""
        return self.world.database_url

    @property
    def hotline(self) -> HotlineSimulator:
        """The simulated 12345 platform."""
        return self.world.hotline

    @property
    def agencies(self) -> dict[str, AgencySimulator]:
        """12366, city management, 119 and 120."""
        return self.world.agencies

    @property
    def police(self) -> Police110Simulator:
        """The simulated 110 (SOAP)."""
        return self.world.police

    @property
    def customs(self) -> CustomsSimulator:
        """The simulated 12360 customs (SOAP)."""
        return self.world.customs

    @property
    def utilities(self) -> dict[str, UtilitySimulator]:
        """The four utility companies (MQTT); none without a broker."""
        return self.world.utilities


@contextmanager
def stage(workdir: Path) -> Iterator[Stage]:
    """Start the simulated world at the demo's pace, the gateway on SQLite in `workdir`;
    city management refuses its first OUTAGE_REFUSALS deliveries. Stop it all after."""
    with ExitStack() as stack:
        mqtt_url, broker_note = find_broker(stack, workdir=workdir)
        mayor = PortalBoardSimulator(prefix="SZXX", id_field="xh")
        hotline_token = secrets.token_urlsafe(32)
        world = build_world(
            stack,
            f"sqlite:///{workdir / 'lianxin.db'}",
            pace=DEMO,
            utilities=mqtt_url is not None,
            mayor=mayor,
            mappings_dir=demo_mappings(workdir),
            data_keys=[SecretStr(generate_data_key())],
            api_tokens={"demo-hotline": ApiToken(role="hotline", token=SecretStr(hotline_token))},
            poll_interval=0.5,
            mqtt_url=mqtt_url or "mqtt://127.0.0.1:1",
            checkpoint_key=SecretStr(generate_ed25519_key()),
            checkpoint_interval=2.0,
            witness_files=[workdir / WITNESS_FILE],  # the demo's witness: an append-only file
        )
        world.agencies["city-management"].fail_next = OUTAGE_REFUSALS
        yield Stage(world, mayor, broker_note, hotline_token)


def demo_mappings(workdir: Path) -> Path:
    """A copy of mappings/ with DEMO_MAPPINGS applied."""
    target = workdir / "mappings"
    shutil.copytree(REPO_ROOT / "mappings", target, dirs_exist_ok=True)
    for relative, (old, new) in DEMO_MAPPINGS.items():
        path = target / relative
        path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    return target
