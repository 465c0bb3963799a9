"""The four utility companies for `lianxin demo`: a broker, keys, simulators, sample orders.

`start_utilities` finds a broker (the one at the given URL or the local default when it
answers, else Debian's `mosquitto` on a free loopback port, else none: the demo then runs
without utilities and says so), starts one simulator per company on it, and returns what
the gateway's Settings need. It never embeds a Python broker: amqtt speaks only MQTT 3.1.1,
which has no user properties for the signed envelope (docs/connectors/utilities.md).
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.simulators.broker import PrivateBroker, broker_answers, mosquitto_binary
from connectors.simulators.utility import UtilitySimulator
from gateway.crypto.signing import generate_ed25519_key, public_text_of
from gateway.demo_orders import UTILITY_ORDERS
from gateway.settings import Settings

COMPANIES = ("water-utility", "power-utility", "gas-utility", "heat-utility")


@dataclass
class UtilityCast:
    """The running utilities and what the gateway's Settings must say to reach them."""

    simulators: dict[str, UtilitySimulator]
    settings_overrides: dict[str, Any]
    agency_keys: dict[str, list[str]]
    broker_note: str
    _stoppers: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def stop(self) -> None:
        """Stop the simulators, then the private broker if one was started."""
        while self._stoppers:
            self._stoppers.pop()()


def start_utilities(
    gateway_public_key: str,
    broker_url: str | None = None,
    workdir: Path | None = None,
    delay: float = 0.3,
) -> UtilityCast:
    """Start a simulator per company on a reachable broker (see the module docstring)."""
    cast = UtilityCast({}, {}, {}, "")
    url, cast.broker_note = _broker(broker_url, workdir, cast._stoppers)
    if url is None:
        return cast
    cast.settings_overrides = {
        "mqtt_url": url,
        "mqtt_topic_prefix": f"lianxin-demo-{secrets.token_hex(3)}",  # runs never mix
        "mqtt_session_expiry": 60,  # demo sessions need not outlive the demo
    }
    settings = Settings(**cast.settings_overrides)
    try:
        for agency in COMPANIES:
            key = generate_ed25519_key()
            cast.agency_keys[agency] = [public_text_of(key)]
            sim = UtilitySimulator(agency, settings, [gateway_public_key], key, delay=delay)
            cast._stoppers.append(sim.start().stop)
            cast.simulators[agency] = sim
    except Exception:
        cast.stop()
        raise
    return cast


def _broker(
    url: str | None, workdir: Path | None, stoppers: list[Callable[[], None]]
) -> tuple[str | None, str]:
    """The given or default broker if it answers, else a private Mosquitto, else none."""
    wanted = url or str(Settings.model_fields["mqtt_url"].default)
    if broker_answers(wanted):
        return wanted, f"MQTT broker at {wanted}"
    if mosquitto_binary() is None:
        return None, f"no MQTT broker at {wanted} and no mosquitto binary: no utilities this run"
    if workdir is None:
        temporary = tempfile.TemporaryDirectory(prefix="lianxin-broker-")
        stoppers.append(temporary.cleanup)
        workdir = Path(temporary.name)
    broker = PrivateBroker(workdir / "broker")
    broker.start()
    stoppers.append(broker.stop)
    return broker.url, f"no broker at {wanted}: started a private Mosquitto at {broker.url}"


#: one realistic order per company (each routes by the catalogue's keywords)
ORDERS: list[dict[str, Any]] = [
    {
        "flow_id": "GZ12345-20261124-000105",
        "acceptance_no": "SL202611240105",
        "category": "help",
        "urgency": "urgent",
        "title": "路面爆管大量冒水",
        "content": "天河区某路口自来水管爆管，路面积水严重，周边小区停水。",
        "location": {"address": "广州市天河区某路口", "division_code": "440106"},
        "caller": {"name": "陈先生", "phone": "13800002222"},
        "received_at": "2026-11-24T07:10:00+08:00",
    },
    {
        "flow_id": "GZ12345-20261124-000106",
        "acceptance_no": "SL202611240106",
        "category": "help",
        "title": "整栋楼突然停电",
        "content": "越秀区某大厦整栋楼停电一小时，电梯停运。",
        "location": {"address": "广州市越秀区某大厦", "division_code": "440104"},
        "caller": {"name": "周女士", "phone": "13700003333"},
        "received_at": "2026-11-24T07:20:00+08:00",
    },
    {
        "flow_id": "GZ12345-20261124-000107",
        "acceptance_no": "SL202611240107",
        "category": "help",
        "title": "燃气表不走字",
        "content": "海珠区某小区住户燃气表不走字，申请上门检查更换。",
        "location": {"address": "广州市海珠区某小区", "division_code": "440105"},
        "caller": {"name": "黄先生", "phone": "13600004444"},
        "received_at": "2026-11-24T07:30:00+08:00",
    },
    *UTILITY_ORDERS,  # the heating order, as the demo submits it
]
