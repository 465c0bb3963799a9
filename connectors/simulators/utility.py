"""A simulated utility field system (water, power, gas, heat): a real MQTT client.

It subscribes to its orders topic, verifies each order's signature (MQTT 5 user
properties), de-duplicates by webhook-id, answers each order with a signed receipt on the
order's response topic, and publishes signed progress on its status topic in the company's
own codes (read from its profile's status map): crew dispatched (signed) → arrived
(in_progress) → resolved with a result, or cannot resolve (returned) with a reason for orders
whose content contains one of `refuse_words`. Each update asks for Lianxin's receipt and
is sent again (same id) until it comes: a broker can lose what it acknowledged.
An order's W3C `traceparent`/`tracestate` user properties are echoed on its updates, as a
traced field system would continue the trace, so one trace shows the order's round trip.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

import connectors
from connectors.mqtt.options import headers_of, resolve
from gateway.crypto.signing import (
    MessageSigner,
    MessageVerifier,
    parse_signing_key,
    parse_verifying_key,
)
from gateway.domain.errors import SignatureError
from gateway.domain.messages import TRACE_HEADERS
from gateway.domain.states import Status
from gateway.mapping.loader import load_mappings
from gateway.mapping.profiles import AgencyProfile
from gateway.settings import Settings


@dataclass
class UtilitySimulator:
    """One company's field system on the broker."""

    agency: str
    settings: Settings
    gateway_keys: list[str]
    signing_key: str
    delay: float = 0.05
    refuse_words: tuple[str, ...] = ("小区内部管网",)
    received: Counter[str] = field(default_factory=Counter)
    orders: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0
    published: dict[int, str] = field(default_factory=dict)
    acknowledged: set[str] = field(default_factory=set)
    unreceipted: dict[str, tuple[float, dict[str, Any]]] = field(default_factory=dict)
    resent: int = 0
    resend_after: float = 3.0
    traceparents: list[str | None] = field(default_factory=list)  # each new order's, in order
    profile: AgencyProfile | None = None

    def __post_init__(self) -> None:
        self._verifier = MessageVerifier([parse_verifying_key(k) for k in self.gateway_keys])
        self._signer = MessageSigner([parse_signing_key(self.signing_key)])
        profile = self.profile or _profile(self.settings, self.agency)
        self.codes = company_codes(profile)
        options = resolve(profile, self.settings)
        self.orders_topic, self.status_topic = options.orders_topic, options.status_topic
        client_id = f"sim-{self.agency}-{self.settings.node_id}"[:64]
        self.receipts_topic = f"{self.status_topic}-receipts/{client_id}"
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._sent = 0
        self._traces: dict[str, dict[str, str]] = {}  # order id → its trace-context headers
        self._subscribed = threading.Event()
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5
        )
        self.client.on_connect = lambda c, *_: c.subscribe(
            [(self.orders_topic, 1), (self.receipts_topic, 1)]
        )
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.on_publish = self._on_publish

    def start(self, timeout: float = 10.0) -> UtilitySimulator:
        """Connect (a persistent session, as field systems keep) and subscribe."""
        url = urlparse(self.settings.mqtt_url)
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = self.settings.mqtt_session_expiry
        self.client.reconnect_delay_set(min_delay=1, max_delay=5)
        self.client.connect(
            url.hostname or "127.0.0.1",
            url.port or 1883,
            keepalive=30,
            clean_start=False,
            properties=properties,
        )
        self.client.loop_start()
        if not self._subscribed.wait(timeout):
            raise RuntimeError(f"{self.agency} simulator could not subscribe")
        threading.Thread(target=self._resend_loop, daemon=True).start()
        return self

    def stop(self) -> None:
        """Disconnect and stop the network thread."""
        self._stopping.set()
        self.client.disconnect()
        self.client.loop_stop()

    def _on_message(self, _client: paho.Client, _userdata: Any, message: Any) -> None:
        headers = headers_of(getattr(message.properties, "UserProperty", None))
        try:
            verified = self._verifier.verify(headers, message.payload)
        except SignatureError:
            self.refused += 1
            return
        if message.topic == self.receipts_topic:
            with self._lock:
                self.unreceipted.pop(json.loads(message.payload)["handoff_id"], None)
            return
        with self._lock:
            first = verified.msg_id not in self.received
            self.received[verified.msg_id] += 1
        order = json.loads(message.payload)
        self._receipt(message, verified.msg_id, order)
        if not first:
            return
        self.orders.append(order)
        self.traceparents.append(headers.get("traceparent"))
        trace = {name: headers[name] for name in TRACE_HEADERS if name in headers}
        self._traces[str(order.get("order_id"))] = trace
        if order.get("type") == "work_order.transfer" and order.get("role") == "lead":
            threading.Thread(target=self._work, args=(order,), daemon=True).start()

    def _receipt(self, message: Any, handoff_id: str, order: dict[str, Any]) -> None:
        """Answer on the order's response topic: we have it (sent for repeats too)."""
        topic = getattr(message.properties, "ResponseTopic", None)
        if topic:
            receipt = {"type": "receipt", "handoff_id": handoff_id, "agency_ref": self._ref(order)}
            self.publish(receipt, topic=topic)

    def _ref(self, order: dict[str, Any]) -> str:
        return f"{self.agency[:3].upper()}-{str(order.get('order_id', ''))[-6:]}"

    def _work(self, order: dict[str, Any]) -> None:
        content = str(order["work_order"].get("content", ""))
        codes = self.codes
        if any(word in content for word in self.refuse_words):
            steps = [(codes[Status.returned], {"reason": "属小区内部管网，由物业负责维修"})]
        else:
            steps = [
                (codes[Status.signed], {}),
                (codes[Status.in_progress], {}),
                (codes[Status.resolved], {"result": "抢修完成，已恢复正常供应"}),
            ]
        for code, extra in steps:
            time.sleep(self.delay)
            msg_id = self.publish(
                {
                    "type": "status",
                    "order_id": order["order_id"],
                    "status": code,
                    "agency_ref": f"{self.agency[:3].upper()}-{order['order_id'][-6:]}",
                    "occurred_at": datetime.now(UTC).isoformat(),
                    **extra,
                }
            )
            while msg_id in self.unreceipted and not self._stopping.wait(0.05):
                pass  # one order's updates go in order: the next waits for this receipt

    def publish(
        self, update: dict[str, Any], msg_id: str | None = None, topic: str | None = None
    ) -> str:
        """Publish one signed message (QoS 1): an update waits for Lianxin's receipt."""
        with self._lock:
            self._sent += 1
            msg_id = msg_id or f"{self.agency}-upd-{self._sent:08d}"
            if topic is None:
                self.unreceipted[msg_id] = (time.monotonic(), update)
        self._send(topic or self.status_topic, msg_id, update)
        return msg_id

    def _send(self, topic: str, msg_id: str, update: dict[str, Any]) -> None:
        body = json.dumps(update, ensure_ascii=False).encode()
        properties = Properties(PacketTypes.PUBLISH)
        trace = self._traces.get(str(update.get("order_id")), {})
        signed = self._signer.headers(msg_id, body)
        properties.UserProperty = list({**signed, **trace}.items())
        if topic == self.status_topic:
            properties.ResponseTopic = self.receipts_topic
            properties.CorrelationData = msg_id.encode()
        info = self.client.publish(topic, body, qos=1, properties=properties)
        self.published[info.mid] = msg_id

    def _resend_loop(self) -> None:
        while not self._stopping.wait(1.0):
            now = time.monotonic()
            with self._lock:
                due = [
                    (key, update)
                    for key, (at, update) in self.unreceipted.items()
                    if now - at > self.resend_after
                ]
                for msg_id, update in due:
                    self.unreceipted[msg_id] = (now, update)
            for msg_id, update in due:
                self.resent += 1
                self._send(self.status_topic, msg_id, update)

    def _on_publish(self, _client: paho.Client, _userdata: Any, mid: int, *_rest: Any) -> None:
        if mid in self.published:
            self.acknowledged.add(self.published[mid])

    def duplicates(self) -> int:
        """Orders that arrived more than once (applied once)."""
        return sum(self.received.values()) - len(self.received)


def company_codes(profile: AgencyProfile) -> dict[Status, str]:
    """The company's own code for each of our statuses (the first one its map names)."""
    codes: dict[Status, str] = {}
    for code, status in profile.status_map.items():
        codes.setdefault(status, code)
    for status in (Status.signed, Status.in_progress, Status.resolved, Status.returned):
        codes.setdefault(status, status.value)  # a company may use our words verbatim
    return codes


def _profile(settings: Settings, agency: str) -> AgencyProfile:
    mappings = load_mappings(settings.mappings_dir, settings.catalogue, connectors.TRANSPORTS)
    return mappings.agencies[agency]
