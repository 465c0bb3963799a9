"""An MQTT broker for the simulated utilities: the given or default one when it answers,
else Debian's `mosquitto` on a free loopback port, else none (the world runs without
utilities and says so). Never an embedded Python broker: amqtt speaks only MQTT 3.1.1,
which has no user properties for the signed envelope (docs/connectors/utilities.md)."""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from pathlib import Path

from connectors.simulators.broker import PrivateBroker, broker_answers, mosquitto_binary
from gateway.settings import Settings


def find_broker(
    stack: ExitStack, url: str | None = None, workdir: Path | None = None
) -> tuple[str | None, str]:
    """(broker URL or None, a sentence saying which); `stack` stops a broker started here."""
    wanted = url or str(Settings.model_fields["mqtt_url"].default)
    if broker_answers(wanted):
        return wanted, f"MQTT broker at {wanted}"
    if mosquitto_binary() is None:
        return None, f"no MQTT broker at {wanted} and no mosquitto binary: no utilities this run"
    if workdir is None:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lianxin-broker-")))
    broker = PrivateBroker(workdir / "broker")
    broker.start()
    stack.callback(broker.stop)
    return broker.url, f"no broker at {wanted}: started a private Mosquitto at {broker.url}"
