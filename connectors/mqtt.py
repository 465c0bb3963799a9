"""MQTT connector (paho-mqtt, MQTT v5): orders out to a utility, progress back.

Protocol: MQTT 5. Orders are published QoS 1 to `{prefix}/utilities/{agency}/orders`;
updates are read from `$share/{group}/{prefix}/utilities/{agency}/status`, a shared
subscription, so several Lianxin processes split them. Envelope: the JSON body as the
payload and the Standard Webhooks fields (`webhook-id`, `webhook-timestamp`,
`webhook-signature`) as MQTT 5 user properties, so every transport shares one verifier.
Direction: both. Guarantee: a broker's PUBACK does not prove that the company has the
order (a broker restart can lose it), so each order carries an MQTT 5 response topic and
correlation data, and counts as delivered only when the company's signed receipt
(`{"type": "receipt", "handoff_id": …}`) comes back on that topic; until then the outbox row
is the durable copy and the order is sent again with the same `webhook-id`. An update is
acknowledged to the broker only after Lianxin has applied or refused it, and the session is
persistent (clean start off, a session expiry), so updates sent while Lianxin is down wait
at the broker. Duplicates from QoS 1 redelivery are recognised by `webhook-id`.
Authentication: the signature; TLS with client certificates when configured. Transient: not
connected, no receipt in time, a PUBACK reason code of failure.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import ssl
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.domain.errors import LianxinError, TransientDelivery
from gateway.domain.messages import Delivery, Receipt, Sign
from gateway.mapping.profiles import AgencyProfile
from gateway.service.ports import InboundHandler
from gateway.settings import Settings

log = logging.getLogger("lianxin.mqtt")


def topics(settings: Settings, agency: str) -> tuple[str, str]:
    """(orders topic, status topic) of one utility."""
    base = f"{settings.mqtt_topic_prefix}/utilities/{agency}"
    return f"{base}/orders", f"{base}/status"


class MqttConnector:
    """One persistent MQTT session per utility: publishes its orders, reads its updates."""

    def __init__(self, profile: AgencyProfile, settings: Settings) -> None:
        self.agency = profile.id
        self.settings = settings
        self.timeout = profile.timeout
        self.orders_topic, self.status_topic = topics(settings, profile.id)
        self.receipts_topic = f"{self.orders_topic.rsplit('/', 1)[0]}/receipts/{settings.node_id}"
        self.refused = 0
        self.applied = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: dict[int, asyncio.Future[int]] = {}
        self._receipts: dict[str, asyncio.Future[str | None]] = {}
        self._handler: InboundHandler | None = None
        self._sign: Sign | None = None
        self._connected = asyncio.Event()
        self.client = self._client(f"lianxin-{profile.id}-{settings.node_id}")

    def _client(self, client_id: str) -> paho.Client:
        client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id[:64], protocol=paho.MQTTv5
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        client.manual_ack_set(True)
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        if urlparse(self.settings.mqtt_url).scheme == "mqtts" or self.settings.mqtt_tls_ca:
            client.tls_set(
                ca_certs=_text(self.settings.mqtt_tls_ca),
                certfile=_text(self.settings.mqtt_tls_cert),
                keyfile=_text(self.settings.mqtt_tls_key),
                cert_reqs=ssl.CERT_REQUIRED,
            )
        return client

    def _start(self) -> None:
        if self._loop is not None:
            return
        self._loop = asyncio.get_running_loop()
        url = urlparse(self.settings.mqtt_url)
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = self.settings.mqtt_session_expiry
        self.client.connect_async(
            url.hostname or "127.0.0.1",
            url.port or 1883,
            keepalive=self.settings.mqtt_keepalive,
            clean_start=False,
            properties=properties,
        )
        self.client.loop_start()

    async def deliver(self, delivery: Delivery) -> Receipt:
        """Publish QoS 1 and wait for the broker's PUBACK."""
        self._start()
        if not self._connected.is_set():
            try:
                await asyncio.wait_for(self._connected.wait(), min(delivery.timeout, 2.0))
            except TimeoutError:
                raise TransientDelivery(
                    f"not connected to the MQTT broker {self.settings.mqtt_url}"
                ) from None
        assert self._loop is not None
        receipt: asyncio.Future[str | None] = self._loop.create_future()
        self._receipts[delivery.handoff_id] = receipt
        try:
            await self._publish(delivery)
            agency_ref = await asyncio.wait_for(receipt, delivery.timeout)
        except TimeoutError:
            raise TransientDelivery(
                f"no receipt from {self.agency} in {delivery.timeout}s"
            ) from None
        finally:
            self._receipts.pop(delivery.handoff_id, None)
        return Receipt(
            200,
            hashlib.sha256(delivery.body).hexdigest(),
            agency_ref=agency_ref,
            details={"topic": self.orders_topic},
        )

    async def _publish(self, delivery: Delivery) -> None:
        """Publish QoS 1 with our response topic, and wait for the PUBACK."""
        properties = Properties(PacketTypes.PUBLISH)
        properties.UserProperty = list(delivery.headers.items())
        properties.ContentType = "application/json"
        properties.ResponseTopic = self.receipts_topic
        properties.CorrelationData = delivery.handoff_id.encode()
        assert self._loop is not None
        future: asyncio.Future[int] = self._loop.create_future()
        info = self.client.publish(self.orders_topic, delivery.body, qos=1, properties=properties)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            raise TransientDelivery(f"publish failed: {paho.error_string(info.rc)}")
        self._pending[info.mid] = future
        if info.is_published() and not future.done():
            future.set_result(0)
        try:
            reason = await asyncio.wait_for(future, delivery.timeout)
        except TimeoutError:
            raise TransientDelivery("no PUBACK in time", throttled=True) from None
        finally:
            self._pending.pop(info.mid, None)
        if reason < 0:
            raise TransientDelivery("the connection was lost before the PUBACK")
        if reason >= 0x80:
            raise TransientDelivery(f"the broker refused the message (reason {reason})")

    async def listen(self, handler: InboundHandler, sign: Sign) -> None:
        """Receive updates until cancelled; each is acknowledged once applied or refused."""
        self._handler = handler
        self._sign = sign
        self._start()
        await asyncio.Event().wait()

    async def aclose(self) -> None:
        """Disconnect (the session stays at the broker) and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()

    # paho callbacks: they run on paho's network thread

    def _on_connect(
        self, client: paho.Client, _userdata: Any, _flags: Any, reason: Any, _properties: Any
    ) -> None:
        if reason.is_failure:
            log.warning("MQTT connect to %s refused: %s", self.settings.mqtt_url, reason)
            return
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._connected.set)
        if self._handler is not None:
            share = f"$share/{self.settings.mqtt_share_group}/{self.status_topic}"
            client.subscribe([(share, 1), (self.receipts_topic, 1)])

    def _on_disconnect(
        self, _client: paho.Client, _userdata: Any, _flags: Any, reason: Any, _properties: Any
    ) -> None:
        log.info("MQTT disconnected from %s (%s); reconnecting", self.settings.mqtt_url, reason)
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._connected.clear)
        for future in list(self._pending.values()):
            self._resolve(future, -1)

    def _on_publish(
        self, _client: paho.Client, _userdata: Any, mid: int, reason: Any, _properties: Any
    ) -> None:
        future = self._pending.get(mid)
        if future is not None:
            self._resolve(future, int(getattr(reason, "value", 0)))

    def _resolve(self, future: asyncio.Future[int], code: int) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(_settle, future, code)

    def _on_message(self, client: paho.Client, _userdata: Any, message: Any) -> None:
        assert self._loop is not None
        work = self._receive(message.payload, _user_properties(message), message.properties)
        future = asyncio.run_coroutine_threadsafe(work, self._loop)
        future.add_done_callback(lambda done: self._acknowledge(client, message, done))

    async def _receive(self, payload: bytes, headers: Mapping[str, str], properties: Any) -> None:
        if len(payload) > self.settings.mqtt_max_message_bytes:
            self.refused += 1
            log.warning("refused an MQTT update of %d bytes from %s", len(payload), self.agency)
            return
        assert self._handler is not None
        try:
            outcome = await self._handler(self.agency, headers, payload)
            self.applied += 1
        except LianxinError as exc:  # refused and audited; the subscriber keeps running
            self.refused += 1
            log.warning("refused an MQTT update from %s: %s", self.agency, exc.code)
            self._answer(properties, headers, {"result": "refused", "code": exc.code})
            return
        if outcome.result == "receipt":
            waiting = self._receipts.get(str(outcome.reference))
            if waiting is not None and not waiting.done():
                waiting.set_result(_agency_ref(payload))
            return
        self._answer(properties, headers, {"result": outcome.result})

    def _answer(self, properties: Any, headers: Mapping[str, str], body: dict[str, Any]) -> None:
        """A signed receipt on the sender's response topic, when it asked for one."""
        topic = getattr(properties, "ResponseTopic", None)
        message_id = headers.get("webhook-id")
        if not topic or not message_id or self._sign is None:
            return
        payload = json.dumps({"type": "receipt", "handoff_id": message_id, **body}).encode()
        reply = Properties(PacketTypes.PUBLISH)
        reply.UserProperty = list(self._sign(f"rcpt-{message_id}", payload).items())
        reply.CorrelationData = message_id.encode()
        self.client.publish(topic, payload, qos=1, properties=reply)

    def _acknowledge(self, client: paho.Client, message: Any, done: Any) -> None:
        if done.exception() is None:
            client.ack(message.mid, message.qos)
        else:  # not applied (e.g. database down): no PUBACK, the broker sends it again
            log.error("MQTT update not applied: %r", done.exception())


def _agency_ref(payload: bytes) -> str | None:
    try:
        value = json.loads(payload).get("agency_ref")
    except (ValueError, AttributeError):
        return None
    return None if value is None else str(value)


def _settle(future: asyncio.Future[int], code: int) -> None:
    if not future.done():
        future.set_result(code)


def _user_properties(message: Any) -> dict[str, str]:
    properties = getattr(message, "properties", None)
    pairs = getattr(properties, "UserProperty", None) or []
    return {str(name): str(value) for name, value in pairs}


def _text(path: Any) -> str | None:
    return None if path is None else str(path)


def build(profile: AgencyProfile, settings: Settings) -> MqttConnector:
    """An MQTT connector for `profile`."""
    return MqttConnector(profile, settings)
