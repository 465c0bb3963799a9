"""TLS with client certificates, configured in the profile's [mqtt.tls] table, against a
private Mosquitto that requires a certificate (certificates made at test time)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from connectors.mqtt.connector import MqttConnector
from connectors.simulators.broker import PrivateBroker
from gateway.domain.errors import TransientDelivery
from tests.integration.mqtt.conftest import (
    SIGNER,
    Recorder,
    TlsFiles,
    delivery,
    eventually,
    listening,
    mosquitto_pub,
)


@pytest.fixture
def tls_broker(tmp_path: Path, tls_files: TlsFiles) -> Iterator[str]:
    """An mqtts:// URL of a Mosquitto that refuses clients without a certificate."""
    options = (
        f"cafile {tls_files.ca}\ncertfile {tls_files.server_cert}\n"
        f"keyfile {tls_files.server_key}\nrequire_certificate true\n"
    )
    broker = PrivateBroker(tmp_path / "broker", listener_options=options)
    broker.start()
    try:
        yield f"mqtts://127.0.0.1:{broker.port}"
    finally:
        broker.stop()


async def test_updates_arrive_over_tls_with_a_client_certificate(
    tls_broker: str, tls_files: TlsFiles, make_connector: Callable[..., MqttConnector]
) -> None:
    tls = {"ca": str(tls_files.ca), "cert": str(tls_files.client_cert)}
    connector = make_connector(
        "node-t", url=tls_broker, tls={**tls, "key": str(tls_files.client_key)}
    )
    recorder = Recorder()
    task = await listening(connector, recorder)
    body = json.dumps({"n": 1}).encode()
    extra = ["--cafile", str(tls_files.ca), "--cert", str(tls_files.client_cert)]
    extra += ["--key", str(tls_files.client_key)]
    await asyncio.to_thread(
        mosquitto_pub,
        connector.options.status_topic,
        body,
        SIGNER.headers("tls-1", body),
        tls_broker.replace("mqtts://", "mqtt://"),
        extra,
    )
    await eventually(lambda: recorder.seen == ["tls-1"])
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_without_a_client_certificate_the_broker_is_not_reached(
    tls_broker: str, tls_files: TlsFiles, make_connector: Callable[..., MqttConnector]
) -> None:
    connector = make_connector("node-x", url=tls_broker, tls={"ca": str(tls_files.ca)})
    with pytest.raises(TransientDelivery, match="not connected"):
        await connector.deliver(delivery())
