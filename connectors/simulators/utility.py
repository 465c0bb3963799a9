"""A simulated utility field system (water, power, gas, heat): a real MQTT client.

It subscribes to its orders topic, verifies each order's signature (MQTT 5 user
properties), de-duplicates by webhook-id, and publishes signed progress on its status
topic: DISPATCHED (crew on the way) → ARRIVED → RESOLVED with a result, or UNRESOLVED with a
reason for orders whose content contains one of `refuse_words`.
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

from connectors.mqtt import topics
from gateway.domain.errors import SignatureError
from gateway.settings import Settings
from gateway.signing import MessageSigner, MessageVerifier, parse_signing_key, parse_verifying_key


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

    def __post_init__(self) -> None:
        self._verifier = MessageVerifier([parse_verifying_key(k) for k in self.gateway_keys])
        self._signer = MessageSigner([parse_signing_key(self.signing_key)])
        self.orders_topic, self.status_topic = topics(self.settings, self.agency)
        self._lock = threading.Lock()
        self._sent = 0
        self._subscribed = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2,
                                  client_id=f"sim-{self.agency}-{self.settings.node_id}"[:64],
                                  protocol=paho.MQTTv5)
        self.client.on_connect = lambda c, *_: c.subscribe(self.orders_topic, qos=1)
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message

    def start(self, timeout: float = 10.0) -> UtilitySimulator:
        """Connect and subscribe; return once the subscription holds."""
        url = urlparse(self.settings.mqtt_url)
        self.client.connect(url.hostname or "127.0.0.1", url.port or 1883, keepalive=30)
        self.client.loop_start()
        if not self._subscribed.wait(timeout):
            raise RuntimeError(f"{self.agency} simulator could not subscribe")
        return self

    def stop(self) -> None:
        """Disconnect and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()

    def _on_message(self, _client: paho.Client, _userdata: Any, message: Any) -> None:
        pairs = getattr(message.properties, "UserProperty", None) or []
        try:
            verified = self._verifier.verify(dict(pairs), message.payload)
        except SignatureError:
            self.refused += 1
            return
        with self._lock:
            first = verified.msg_id not in self.received
            self.received[verified.msg_id] += 1
        if not first:
            return
        order = json.loads(message.payload)
        self.orders.append(order)
        if order.get("type") == "work_order.transfer" and order.get("role") == "lead":
            threading.Thread(target=self._work, args=(order,), daemon=True).start()

    def _work(self, order: dict[str, Any]) -> None:
        content = str(order["work_order"].get("content", ""))
        if any(word in content for word in self.refuse_words):
            steps = [("UNRESOLVED", {"reason": "属小区内部管网，由物业负责维修"})]
        else:
            steps = [("DISPATCHED", {}), ("ARRIVED", {}),
                     ("RESOLVED", {"result": "抢修完成，已恢复正常供应"})]
        for code, extra in steps:
            time.sleep(self.delay)
            self.publish({"type": "status", "order_id": order["order_id"], "status": code,
                          "agency_ref": f"{self.agency[:3].upper()}-{order['order_id'][-6:]}",
                          "occurred_at": datetime.now(UTC).isoformat(), **extra})

    def publish(self, update: dict[str, Any], msg_id: str | None = None) -> None:
        """Publish one signed update (QoS 1) on the status topic."""
        body = json.dumps(update, ensure_ascii=False).encode()
        with self._lock:
            self._sent += 1
            msg_id = msg_id or f"{self.agency}-upd-{self._sent:08d}"
        properties = Properties(PacketTypes.PUBLISH)
        properties.UserProperty = list(self._signer.headers(msg_id, body).items())
        self.client.publish(self.status_topic, body, qos=1, properties=properties)

    def duplicates(self) -> int:
        """Orders that arrived more than once (applied once)."""
        return sum(self.received.values()) - len(self.received)
