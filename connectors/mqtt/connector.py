"""MQTT connector (paho-mqtt, MQTT v5): orders out to a utility, progress back.

Protocol: MQTT 5. Orders are published (QoS from the profile, 1 by default) to
`{prefix}/utilities/{agency}/orders`; updates are read from
`$share/{group}/{prefix}/utilities/{agency}/status`, a shared subscription, so several
Lianxin processes split them. Envelope: the JSON body as the payload and the Standard
Webhooks fields (`webhook-id`, `webhook-timestamp`, `webhook-signature`) as MQTT 5 user
properties, so every transport shares one verifier.
Direction: both. Guarantee: a broker's PUBACK does not prove that the company has the
order (a broker restart can lose it), so each order carries an MQTT 5 response topic and
correlation data, and counts as delivered only when the company's signed receipt
(`{"type": "receipt", "handoff_id": …}`) comes back on that topic; until then the outbox row
is the durable copy and the order is sent again with the same `webhook-id`. An update is
acknowledged to the broker only after Lianxin has applied or refused it; one that could not
be processed (e.g. the database is down) is left unacknowledged and the session is resumed,
so the broker sends it again. Sessions are persistent (clean start off, a session expiry,
a stable client id per process), so updates sent while Lianxin is down wait at the broker.
Duplicates from QoS 1 redelivery are recognised by `webhook-id`.
Trace context: when tracing is on, each order carries the W3C `traceparent` (and
`tracestate`) of its outbound call as user properties named like the HTTP headers, and an
update's are continued while it is handled (the handler `listen` is given does that:
`gateway.bootstrap.continuing`, through the tracing port).
Authentication: the signature; TLS with client certificates when configured.
Transient: not connected, no PUBACK or no receipt in time, a PUBACK reason code of failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import socket
import ssl
from collections.abc import Mapping
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from connectors.mqtt.options import MqttOptions, headers_of, oversized, resolve, user_properties
from gateway.domain.errors import LianxinError, TransientDelivery
from gateway.domain.messages import Delivery, Receipt, Sign
from gateway.mapping.profiles import AgencyProfile
from gateway.service.ports.transport import InboundHandler
from gateway.settings import Settings

log = logging.getLogger("lianxin.mqtt")
CONNECT_WAIT = 2.0  # a delivery waits this long for a connection, then goes back to the outbox


class MqttConnector:
    """One persistent MQTT session per utility: publishes its orders, reads its updates."""

    def __init__(self, options: MqttOptions, url: str) -> None:
        self.options = options
        self.agency = options.agency
        self.url = url  # for messages only; the address is in `options`
        self.refused = 0
        self.applied = 0
        self.duplicates = 0
        self.resume_after = 5.0  # seconds before resuming the session to get a failed update again
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: dict[int, asyncio.Future[int]] = {}
        self._receipts: dict[str, asyncio.Future[str | None]] = {}
        self._handler: InboundHandler | None = None
        self._sign: Sign | None = None
        self._connected = asyncio.Event()
        self.subscribed = asyncio.Event()  # set when the broker has confirmed our subscriptions
        self._resuming = False
        self.client = self._client()

    def _client(self) -> paho.Client:
        client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=self.options.client_id, protocol=paho.MQTTv5
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.manual_ack_set(True)
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        tls = self.options.tls
        if tls is not None:
            client.tls_set(
                ca_certs=tls.ca, certfile=tls.cert, keyfile=tls.key, cert_reqs=ssl.CERT_REQUIRED
            )
        return client

    def _start(self) -> None:
        if self._loop is not None:
            return
        self._loop = asyncio.get_running_loop()
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = self.options.session_expiry
        self.client.connect_async(
            self.options.host,
            self.options.port,
            keepalive=self.options.keepalive,
            clean_start=False,
            properties=properties,
        )
        self.client.loop_start()

    async def deliver(self, delivery: Delivery) -> Receipt:
        """Publish the order and wait for the PUBACK, then for the company's signed receipt."""
        self._start()
        if not self._connected.is_set():
            try:
                await asyncio.wait_for(self._connected.wait(), min(delivery.timeout, CONNECT_WAIT))
            except TimeoutError:
                raise TransientDelivery(f"not connected to the MQTT broker {self.url}") from None
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
            details={"topic": self.options.orders_topic},
        )

    async def _publish(self, delivery: Delivery) -> None:
        """Publish with our response topic, and wait for the broker's acknowledgement."""
        properties = Properties(PacketTypes.PUBLISH)
        properties.UserProperty = user_properties(delivery.headers)
        properties.ContentType = "application/json"
        properties.ResponseTopic = self.options.receipts_topic
        properties.CorrelationData = delivery.handoff_id.encode()
        assert self._loop is not None
        future: asyncio.Future[int] = self._loop.create_future()
        info = self.client.publish(
            self.options.orders_topic, delivery.body, qos=self.options.qos, properties=properties
        )
        if info.rc != paho.MQTT_ERR_SUCCESS:
            raise TransientDelivery(f"publish failed: {paho.error_string(info.rc)}")
        self._pending[info.mid] = future
        if info.is_published() and not future.done():
            future.set_result(0)
        try:
            reason = await asyncio.wait_for(future, delivery.timeout)
        except TimeoutError:
            raise TransientDelivery("no PUBACK in time") from None
        finally:
            self._pending.pop(info.mid, None)
        if reason < 0:
            raise TransientDelivery("the connection was lost before the PUBACK")
        if reason >= 0x80:
            raise TransientDelivery(f"the broker refused the message (reason {reason})")

    @property
    def broker_connected(self) -> bool | None:
        """True while connected to the broker; None before the connector was started."""
        return None if self._loop is None else self._connected.is_set()

    async def listen(self, handler: InboundHandler, sign: Sign) -> None:
        """Receive updates until cancelled; each is acknowledged once applied or refused."""
        self._handler = handler
        self._sign = sign
        self._start()
        if self._connected.is_set():
            self._subscribe()
        await asyncio.Event().wait()

    async def aclose(self) -> None:
        """Disconnect (the session stays at the broker) and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()

    def _subscribe(self) -> None:
        """Subscribe to the shared status topic and our receipts (runs on the event loop)."""
        qos = self.options.qos
        self.client.subscribe(
            [(self.options.shared_status, qos), (self.options.receipts_topic, qos)]
        )

    def _connection_up(self) -> None:
        self._connected.set()
        if self._handler is not None:
            self._subscribe()

    # paho callbacks: they run on paho's network thread

    def _on_connect(
        self, _client: paho.Client, _userdata: Any, _flags: Any, reason: Any, _properties: Any
    ) -> None:
        if reason.is_failure:
            log.warning("MQTT connect to %s refused: %s", self.url, reason)
            return
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._connection_up)

    def _on_subscribe(
        self, _client: paho.Client, _userdata: Any, _mid: int, reasons: Any, _properties: Any
    ) -> None:
        refused = [str(r) for r in reasons if r.is_failure]
        if refused:  # e.g. a broker without shared subscriptions: say so, loudly
            log.error("MQTT broker %s refused our subscriptions: %s", self.url, refused)
            return
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self.subscribed.set)

    def _on_disconnect(
        self, _client: paho.Client, _userdata: Any, _flags: Any, reason: Any, _properties: Any
    ) -> None:
        log.info("MQTT disconnected from %s (%s); reconnecting", self.url, reason)
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
        properties = getattr(message, "properties", None)
        headers = headers_of(getattr(properties, "UserProperty", None))
        work = self.receive(message.payload, headers, properties)
        future = asyncio.run_coroutine_threadsafe(work, self._loop)
        future.add_done_callback(lambda done: self._acknowledge(client, message, done))

    async def receive(self, payload: bytes, headers: Mapping[str, str], properties: Any) -> None:
        """Hand one message to the handler; count what it refuses and keep going."""
        if oversized(payload, self.options):
            self.refused += 1
            log.warning("refused an MQTT message of %d bytes from %s", len(payload), self.agency)
            return
        assert self._handler is not None
        try:
            outcome = await self._handler(self.agency, headers, payload)
        except LianxinError as exc:  # refused and audited; the subscriber keeps running
            self.refused += 1
            log.warning(
                "refused MQTT message %s from %s: %s",
                headers.get("webhook-id", "(no id)")[:64],
                self.agency,
                exc.code,
            )
            self._answer(properties, headers, {"result": "refused", "code": exc.code})
            return
        self._count(outcome.result)
        if outcome.result == "receipt":
            waiting = self._receipts.get(str(outcome.reference))
            if waiting is not None and not waiting.done():
                waiting.set_result(_agency_ref(payload))
            return
        self._answer(properties, headers, {"result": outcome.result})

    def _count(self, result: str) -> None:
        if result == "duplicate":
            self.duplicates += 1
        elif result != "receipt":
            self.applied += 1

    def _answer(self, properties: Any, headers: Mapping[str, str], body: dict[str, Any]) -> None:
        """A signed receipt on the sender's response topic, when it asked for one."""
        topic = getattr(properties, "ResponseTopic", None)
        message_id = headers.get("webhook-id")
        if not topic or not message_id or self._sign is None:
            return
        payload = json.dumps({"type": "receipt", "handoff_id": message_id, **body}).encode()
        reply = Properties(PacketTypes.PUBLISH)
        reply.UserProperty = user_properties(self._sign(f"rcpt-{message_id}", payload))
        reply.CorrelationData = message_id.encode()
        self.client.publish(topic, payload, qos=1, properties=reply)

    def _acknowledge(self, client: paho.Client, message: Any, done: Any) -> None:
        """PUBACK what was applied or refused; leave the rest to come again (event loop)."""
        if done.cancelled():
            return  # shutting down: unacknowledged, so the broker keeps it for the next session
        if done.exception() is None:
            client.ack(message.mid, message.qos)
            return
        log.error("MQTT message from %s not processed: %r", self.agency, done.exception())
        if not self._resuming and self._loop is not None:
            self._resuming = True
            self._loop.call_later(self.resume_after, self._resume_session)

    def _resume_session(self) -> None:
        """Drop the connection: on reconnect the broker sends every unacknowledged message
        again (a broker only redelivers when a session resumes, and unacknowledged messages
        hold its in-flight window)."""
        self._resuming = False
        sock = self.client.socket()
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):  # already gone: paho reconnects on its own
                sock.shutdown(socket.SHUT_RDWR)


def _agency_ref(payload: bytes) -> str | None:
    try:
        value = json.loads(payload).get("agency_ref")
    except (ValueError, AttributeError):
        return None
    return None if value is None else str(value)


def _settle(future: asyncio.Future[int], code: int) -> None:
    if not future.done():
        future.set_result(code)


def build(profile: AgencyProfile, settings: Settings) -> MqttConnector:
    """An MQTT connector for `profile`, on the broker at `settings.mqtt_url`."""
    return MqttConnector(resolve(profile, settings), settings.mqtt_url)
