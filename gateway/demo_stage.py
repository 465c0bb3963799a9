"""The demo's cast: simulated hotline and agencies around a gateway, all on loopback."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from connectors.simulators.agency import AgencySimulator, Script
from connectors.simulators.broker import PrivateBroker, broker_answers, mosquitto_binary
from connectors.simulators.customs12360 import CustomsSimulator
from connectors.simulators.hotline import HotlineSimulator
from connectors.simulators.police110 import Police110Simulator
from connectors.simulators.portal_board import PortalBoardSimulator
from connectors.simulators.server import ServerThread
from connectors.simulators.utility import UtilitySimulator
from gateway.api.app import create_app
from gateway.crypto.sealing import generate_data_key
from gateway.crypto.signing import generate_ed25519_key, public_text_of
from gateway.demo_evidence import WITNESS_FILE
from gateway.settings import REPO_ROOT, ApiToken, Settings

TAX_SCRIPT = Script(
    steps=(("已签收", 0.3), ("办理中", 0.5), ("已办结", 0.5)),
    result="已电话告知纳税人专项附加扣除的填报路径，纳税人表示清楚。",
)
CITY_SCRIPT = Script(
    steps=(("accepted", 0.3), ("working", 0.5), ("closed", 0.5)),
    result="执法队员已到场核查，责令整改，现场已恢复正常。",
)
EMERGENCY_SCRIPT = Script(
    steps=(("accepted", 0.2), ("dispatched", 0.3), ("arrived", 0.5), ("closed", 0.5)),
    result="现场处置完毕，无人员受伤。",
)
SLOW_120_SCRIPT = Script(  # answers after the (demo's) acknowledgement deadline
    steps=(("accepted", 5.0), ("dispatched", 0.3), ("arrived", 0.5), ("closed", 0.5)),
    result="患者已送医，生命体征平稳。",
)
OUTAGE_SECONDS = 2.0
UTILITIES = ("water", "power", "gas", "heat")
MAYOR = "portal-mayor-mailbox"
#: the demo's changes to the real mapping files, so that it runs in seconds
DEMO_MAPPINGS = {
    "agencies/ambulance-120.toml": ("acknowledge_seconds = 60", "acknowledge_seconds = 3"),
    f"agencies/{MAYOR}.toml": ("poll_interval = 60", "poll_interval = 1"),
}


@dataclass
class Stage:
    """The running parts of the demo."""

    gateway_url: str
    hotline: HotlineSimulator
    agencies: dict[str, AgencySimulator]
    police: Police110Simulator
    customs: CustomsSimulator
    database_url: str
    utilities: dict[str, UtilitySimulator]
    broker_note: str
    mayor: PortalBoardSimulator
    hotline_token: str = ""  # the demo's own API token (the API is closed without one)


@contextmanager
def stage(workdir: Path) -> Iterator[Stage]:
    """Start every simulator and the gateway (SQLite in `workdir`); stop them all after."""
    gateway_key = generate_ed25519_key()
    public = public_text_of(gateway_key)
    with ExitStack() as stack:
        hotline = HotlineSimulator([public])
        hotline_url = stack.enter_context(ServerThread(hotline.app)).url
        gateway_server = ServerThread()
        url = gateway_server.url
        keys: dict[str, list[str]] = {}
        endpoints: dict[str, str] = {}

        def serve(agency: str, app: object, path: str, key: str) -> None:
            server = stack.enter_context(ServerThread(app))
            endpoints[agency], keys[agency] = f"{server.url}{path}", [public_text_of(key)]

        agencies = {}
        for agency, prefix, script in (
            ("tax-12366", "SW", TAX_SCRIPT),
            ("city-management", "CG", CITY_SCRIPT),
        ):
            key = generate_ed25519_key()
            agencies[agency] = AgencySimulator(agency, url, [public], key, script, prefix)
            serve(agency, agencies[agency].app, "/orders", key)
        for agency, prefix, script in (
            ("fire-119", "F119", EMERGENCY_SCRIPT),
            ("ambulance-120", "A120", SLOW_120_SCRIPT),
        ):
            key = generate_ed25519_key()
            agencies[agency] = AgencySimulator(agency, url, [public], key, script, prefix)
            serve(agency, agencies[agency].app, "/incidents", key)
        endpoints["alert-channel"] = f"{hotline_url}/alerts"
        mayor = PortalBoardSimulator(gateway_keys=[public], prefix="SZXX", id_field="xh")
        endpoints[MAYOR] = stack.enter_context(ServerThread(mayor.app)).url
        police_key, customs_key = generate_ed25519_key(), generate_ed25519_key()
        police = Police110Simulator(url, [public], police_key, delay=0.4)
        customs = CustomsSimulator(url, [public], customs_key, delay=0.4)
        serve("police-110", police.app, "/jcj", police_key)
        serve("customs-12360", customs.app, "/cases", customs_key)
        utility_keys = {f"{kind}-utility": generate_ed25519_key() for kind in UTILITIES}
        keys |= {agency: [public_text_of(key)] for agency, key in utility_keys.items()}
        mqtt_url, broker_note = _broker(stack, workdir)
        database_url = f"sqlite:///{workdir / 'lianxin.db'}"
        hotline_token = secrets.token_urlsafe(32)
        settings = Settings(
            database_url=database_url,
            mappings_dir=demo_mappings(workdir),
            hotline_callback_url=f"{hotline_url}/callbacks",
            agency_endpoints=endpoints,
            agency_keys=keys,
            signing_keys=[SecretStr(gateway_key)],
            data_keys=[SecretStr(generate_data_key())],
            api_tokens={"demo-hotline": ApiToken(role="hotline", token=SecretStr(hotline_token))},
            poll_interval=0.5,
            mqtt_url=mqtt_url or "mqtt://127.0.0.1:1",
            mqtt_topic_prefix=f"lianxin-demo-{secrets.token_hex(3)}",
            mqtt_session_expiry=60,
            checkpoint_key=SecretStr(generate_ed25519_key()),
            checkpoint_interval=2.0,
            witness_files=[workdir / WITNESS_FILE],  # the demo's witness: an append-only file
        )
        agencies["city-management"].go_down(OUTAGE_SECONDS)
        gateway_server.start(create_app(settings))
        stack.callback(gateway_server.stop)
        utilities = {}
        if mqtt_url:
            for agency, key in utility_keys.items():
                sim = UtilitySimulator(agency, settings, [public], key, delay=0.3).start()
                stack.callback(sim.stop)
                utilities[agency] = sim
        yield Stage(
            url,
            hotline,
            agencies,
            police,
            customs,
            database_url,
            utilities,
            broker_note,
            mayor,
            hotline_token,
        )


def demo_mappings(workdir: Path) -> Path:
    """A copy of mappings/ with DEMO_MAPPINGS applied."""
    target = workdir / "mappings"
    shutil.copytree(REPO_ROOT / "mappings", target, dirs_exist_ok=True)
    for relative, (old, new) in DEMO_MAPPINGS.items():
        path = target / relative
        path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    return target


def _broker(stack: ExitStack, workdir: Path) -> tuple[str | None, str]:
    """The machine's broker if it answers, else a private Mosquitto, else none."""
    default = str(Settings.model_fields["mqtt_url"].default)
    if broker_answers(default):
        return default, f"MQTT broker at {default}"
    if mosquitto_binary() is None:
        return None, "no MQTT broker and no mosquitto binary: utilities left out of this run"
    broker = PrivateBroker(workdir / "broker")
    broker.start()
    stack.callback(broker.stop)
    return broker.url, f"started a private Mosquitto at {broker.url}"
