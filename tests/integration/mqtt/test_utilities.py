"""Utilities over the real Mosquitto broker: orders out, progress back, hostile messages refused."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from connectors.mqtt import topics
from gateway.signing import (
    MessageSigner,
    MessageVerifier,
    generate_ed25519_key,
    parse_signing_key,
    parse_verifying_key,
    public_text_of,
)
from tests.conftest import MQTT_URL, Stack
from tests.integration.api.helpers import order, wait_until

BROKER = urlparse(MQTT_URL)


def water_order(
    flow_id: str = "GZ-W1", content: str = "天河区某小区今早起停水，至今未恢复。"
) -> dict[str, Any]:
    return order(flow_id, category="help", title="小区突然停水", content=content)


def status(client: httpx.Client, order_id: str) -> str:
    return str(client.get(f"/v1/work-orders/{order_id}").json()["status"])


def mosquitto_pub(topic: str, body: bytes, headers: dict[str, str]) -> None:
    command = [
        "mosquitto_pub",
        "-V",
        "mqttv5",
        "-h",
        BROKER.hostname or "127.0.0.1",
        "-p",
        str(BROKER.port or 1883),
        "-q",
        "1",
        "-t",
        topic,
        "-s",
    ]
    for name, value in headers.items():
        command += ["-D", "PUBLISH", "user-property", name, value]
    subprocess.run(command, input=body, check=True, timeout=10)


@pytest.fixture
def stack(make_stack: Callable[..., Stack]) -> Stack:
    return make_stack(mqtt=True)


def test_a_water_outage_goes_to_the_water_company_and_its_progress_comes_back(
    stack: Stack,
) -> None:
    with httpx.Client(base_url=stack.url) as client:
        accepted = client.post("/v1/work-orders", json=water_order())
        assert accepted.json()["lead_agency"] == "water-utility", accepted.text
        order_id = accepted.json()["id"]
        wait_until(lambda: stack.hotline.last_status(order_id) == "resolved", what="resolved")
    water = stack.utilities["water-utility"]
    assert water.refused == 0 and len(water.received) == 1
    assert stack.hotline.statuses[order_id] == ["dispatched", "signed", "in_progress", "resolved"]


def test_a_leak_inside_the_estate_comes_back_returned_with_the_reason(stack: Stack) -> None:
    with httpx.Client(base_url=stack.url) as client:
        order_id = client.post(
            "/v1/work-orders", json=water_order(content="楼道里漏水，怀疑是小区内部管网破裂。")
        ).json()["id"]
        wait_until(lambda: status(client, order_id) == "returned", what="returned")


def test_an_update_published_with_mosquitto_pub_reaches_the_hotline(stack: Stack) -> None:
    water = stack.utilities["water-utility"]
    water.delay = 60  # the simulator stays silent; the independent client speaks instead
    with httpx.Client(base_url=stack.url) as client:
        order_id = client.post("/v1/work-orders", json=water_order()).json()["id"]
        wait_until(lambda: status(client, order_id) == "dispatched", what="dispatched")
        update = {
            "type": "status",
            "order_id": order_id,
            "status": "DISPATCHED",
            "occurred_at": datetime.now(UTC).isoformat(),
        }
        body = json.dumps(update).encode()
        signer = MessageSigner([parse_signing_key(stack.agency_keys["water-utility"])])
        _orders, status_topic = topics(stack.settings, "water-utility")
        mosquitto_pub(status_topic, body, signer.headers("cli-1", body))
        wait_until(lambda: stack.hotline.last_status(order_id) == "signed", what="callback")


def test_mosquitto_sub_receives_an_order_whose_signature_verifies(stack: Stack) -> None:
    orders_topic, _status = topics(stack.settings, "power-utility")
    sub = subprocess.Popen(
        [
            "mosquitto_sub",
            "-V",
            "mqttv5",
            "-h",
            BROKER.hostname or "127.0.0.1",
            "-p",
            str(BROKER.port or 1883),
            "-t",
            orders_topic,
            "-C",
            "1",
            "-F",
            "%P\t%p",
        ],
        stdout=subprocess.PIPE,
    )
    time.sleep(0.5)
    with httpx.Client(base_url=stack.url) as client:
        client.post(
            "/v1/work-orders",
            json=order(
                "GZ-E1", category="help", title="整栋楼停电", content="越秀区某大厦停电两小时。"
            ),
        )
    out, _ = sub.communicate(timeout=20)
    properties, _, payload = out.partition(b"\t")
    headers = dict(p.partition(":")[::2] for p in properties.decode().split())
    verifier = MessageVerifier([parse_verifying_key(public_text_of(stack.gateway_key))])
    assert verifier.verify(headers, payload.rstrip(b"\n")).msg_id.startswith("msg_")
    assert json.loads(payload)["work_order"]["title"] == "整栋楼停电"


def test_bad_messages_are_refused_counted_and_the_subscriber_keeps_going(stack: Stack) -> None:
    water = stack.utilities["water-utility"]
    water.delay = 60
    with httpx.Client(base_url=stack.url) as client:
        order_id = client.post("/v1/work-orders", json=water_order()).json()["id"]
        wait_until(lambda: status(client, order_id) == "dispatched", what="dispatched")
        _orders, status_topic = topics(stack.settings, "water-utility")
        update = json.dumps(
            {
                "type": "status",
                "order_id": order_id,
                "status": "DISPATCHED",
                "occurred_at": datetime.now(UTC).isoformat(),
            }
        ).encode()
        good = MessageSigner([parse_signing_key(stack.agency_keys["water-utility"])])
        forged = MessageSigner([parse_signing_key(generate_ed25519_key())])
        mosquitto_pub(status_topic, update, forged.headers("bad-1", update))  # forged
        mosquitto_pub(status_topic, update, {})  # unsigned
        mosquitto_pub(status_topic, b"{not json", good.headers("bad-3", b"{not json"))  # malformed
        huge = b"x" * (stack.settings.mqtt_max_message_bytes + 1)
        mosquitto_pub(status_topic, huge, good.headers("bad-4", huge))  # oversized
        mosquitto_pub(status_topic, update, good.headers("ok-1", update))  # valid
        wait_until(lambda: status(client, order_id) == "signed", what="the valid update")
    connector = stack.app.state.gateway.connectors["water-utility"]
    assert connector.refused == 4 and connector.applied >= 1
