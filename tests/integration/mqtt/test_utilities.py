"""Utilities over the real Mosquitto broker: orders out, progress back, hostile messages refused."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

import httpx
import pytest

from gateway.crypto.signing import (
    MessageSigner,
    MessageVerifier,
    generate_ed25519_key,
    parse_signing_key,
    parse_verifying_key,
    public_text_of,
)
from gateway.world.orders import ORDER_PER_UTILITY as ORDERS
from tests.conftest import Stack
from tests.integration.api.helpers import order, wait_until
from tests.integration.mqtt.conftest import mosquitto_pub, mosquitto_sub, options

LIFECYCLE = ["dispatched", "signed", "in_progress", "resolved"]


def water_order(
    flow_id: str = "GZ-W1", content: str = "天河区某小区今早起停水，至今未恢复。"
) -> dict[str, Any]:
    return order(flow_id, category="help", title="小区突然停水", content=content)


def status(client: httpx.Client, order_id: str) -> str:
    return str(client.get(f"/v1/work-orders/{order_id}").json()["status"])


def resolved(stack: Stack, order_id: str) -> bool:
    return stack.hotline.last_status(order_id) == "resolved"


def water_update(order_id: str, code: str = "10") -> bytes:
    """The water company's 已派工 (crew dispatched) for `order_id`."""
    update = {
        "type": "status",
        "order_id": order_id,
        "status": code,
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    return json.dumps(update).encode()


def dispatched_water_order(stack: Stack, client: httpx.Client) -> str:
    """An order the water company has (its simulator stays silent); its id."""
    stack.utilities["water-utility"].delay = 60
    order_id = str(client.post("/v1/work-orders", json=water_order()).json()["id"])
    wait_until(lambda: status(client, order_id) == "dispatched", what="dispatched")
    return order_id


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
    assert stack.hotline.statuses[order_id] == LIFECYCLE


def test_each_company_works_its_order_in_its_own_codes(stack: Stack) -> None:
    with httpx.Client(base_url=stack.url) as client:
        accepted = {o["flow_id"]: client.post("/v1/work-orders", json=o).json() for o in ORDERS}
        leads = sorted(a["lead_agency"] for a in accepted.values())
        assert leads == ["gas-utility", "heat-utility", "power-utility", "water-utility"]
        for answer in accepted.values():
            wait_until(partial(resolved, stack, answer["id"]), what=answer["lead_agency"])
            assert stack.hotline.statuses[answer["id"]] == LIFECYCLE
    codes = {agency: sim.codes for agency, sim in stack.utilities.items()}
    assert len({tuple(c.values()) for c in codes.values()}) == 4, codes


def test_a_leak_inside_the_estate_comes_back_returned_with_the_reason(stack: Stack) -> None:
    with httpx.Client(base_url=stack.url) as client:
        order_id = client.post(
            "/v1/work-orders", json=water_order(content="楼道里漏水，怀疑是小区内部管网破裂。")
        ).json()["id"]
        wait_until(lambda: status(client, order_id) == "returned", what="returned")
        timeline = client.get(f"/v1/work-orders/{order_id}").json()
    assert "属小区内部管网" in json.dumps(timeline, ensure_ascii=False)


def test_an_update_published_with_mosquitto_pub_reaches_the_hotline(stack: Stack) -> None:
    with httpx.Client(base_url=stack.url) as client:
        order_id = dispatched_water_order(stack, client)
        body = water_update(order_id)
        signer = MessageSigner([parse_signing_key(stack.agency_keys["water-utility"])])
        topic = options(stack.settings, "water-utility").status_topic
        mosquitto_pub(topic, body, signer.headers("cli-1", body))
        wait_until(lambda: stack.hotline.last_status(order_id) == "signed", what="callback")


def test_an_update_sent_twice_is_applied_once(stack: Stack) -> None:
    with httpx.Client(base_url=stack.url) as client:
        order_id = dispatched_water_order(stack, client)
        body = water_update(order_id)
        headers = MessageSigner([parse_signing_key(stack.agency_keys["water-utility"])]).headers(
            "cli-twice", body
        )
        topic = options(stack.settings, "water-utility").status_topic
        mosquitto_pub(topic, body, headers)
        mosquitto_pub(topic, body, headers)  # what a QoS 1 redelivery looks like
        connector = stack.app.state.gateway.connectors["water-utility"]
        wait_until(lambda: connector.duplicates == 1, what="the repeat recognised")
        signed = ["dispatched", "signed"]  # the callback travels through the outbox: wait
        wait_until(lambda: stack.hotline.statuses[order_id] == signed, what="one callback")
    assert connector.applied == 1
    assert stack.hotline.statuses[order_id] == ["dispatched", "signed"]


def test_mosquitto_sub_receives_an_order_whose_signature_verifies(stack: Stack) -> None:
    sub = mosquitto_sub(options(stack.settings, "power-utility").orders_topic)
    time.sleep(0.5)  # mosquitto_sub does not say when it has subscribed
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
    with httpx.Client(base_url=stack.url) as client:
        order_id = dispatched_water_order(stack, client)
        water = options(stack.settings, "water-utility")
        update = water_update(order_id)
        good = MessageSigner([parse_signing_key(stack.agency_keys["water-utility"])])
        forged = MessageSigner([parse_signing_key(generate_ed25519_key())])
        topic = water.status_topic
        mosquitto_pub(topic, update, forged.headers("bad-1", update))  # forged
        mosquitto_pub(topic, update, {})  # unsigned
        mosquitto_pub(topic, b"{not json", good.headers("bad-3", b"{not json"))  # malformed
        huge = b"x" * (water.max_message_bytes + 1)
        mosquitto_pub(topic, huge, good.headers("bad-4", huge))  # oversized
        mosquitto_pub(topic, update, good.headers("ok-1", update))  # valid
        wait_until(lambda: status(client, order_id) == "signed", what="the valid update")
    connector = stack.app.state.gateway.connectors["water-utility"]
    assert (connector.refused, connector.applied) == (4, 1)
