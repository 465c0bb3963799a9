"""W3C trace context over MQTT, on the real Mosquitto, with a paho client as the utility:
orders carry the traceparent of their outbound call as a user property, and an update's
traceparent is continued while Lianxin handles it (a malformed one starts a new trace)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlparse

import httpx
import paho.mqtt.client as paho
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import format_span_id, format_trace_id
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.crypto.signing import MessageSigner, parse_signing_key
from tests.conftest import MQTT_URL, Stack, require_mqtt
from tests.integration.api.helpers import wait_until
from tests.integration.mqtt.conftest import options
from tests.integration.mqtt.test_utilities import dispatched_water_order, water_order, water_update
from tests.integration.spans import named, recording_provider

UTILITY_TRACE = "0af7651916cd43dd8448eb211c80319c"
UTILITY_SPAN = "b7ad6b7169203331"
UTILITY_TRACEPARENT = f"00-{UTILITY_TRACE}-{UTILITY_SPAN}-01"
WATER = "water-utility"


class Utility:
    """An independent paho MQTT 5 client playing the utility's side of the broker."""

    def __init__(self) -> None:
        self.client = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
        self.received: list[dict[str, str]] = []  # each message's user properties, as named
        self.client.on_message = self._on_message
        self._subscribed = threading.Event()
        self.client.on_subscribe = lambda *_args: self._subscribed.set()
        broker = urlparse(MQTT_URL)
        self.client.connect(broker.hostname or "127.0.0.1", broker.port or 1883)
        self.client.loop_start()

    def subscribe(self, topic: str) -> None:
        self.client.subscribe(topic, qos=1)
        assert self._subscribed.wait(10), f"no SUBACK for {topic}"

    def publish(self, topic: str, body: bytes, headers: dict[str, str]) -> None:
        properties = Properties(PacketTypes.PUBLISH)
        properties.UserProperty = list(headers.items())
        self.client.publish(topic, body, qos=1, properties=properties).wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_message(
        self, _client: paho.Client, _userdata: object, message: paho.MQTTMessage
    ) -> None:
        self.received.append(dict(getattr(message.properties, "UserProperty", None) or ()))


@pytest.fixture
def utility() -> Iterator[Utility]:
    require_mqtt()  # fails saying how to start Mosquitto when it is down
    peer = Utility()
    yield peer
    peer.close()


@pytest.fixture
def traced_stack(make_stack: Callable[..., Stack], exporter: InMemorySpanExporter) -> Stack:
    return make_stack(mqtt=True, tracing=True, tracer_provider=recording_provider(exporter))


def send_water_order(stack: Stack) -> None:
    with httpx.Client(base_url=stack.url) as client:
        accepted = client.post("/v1/work-orders", json=water_order())
    assert accepted.json()["lead_agency"] == WATER, accepted.text


def test_an_order_carries_the_traceparent_of_its_outbound_call(
    traced_stack: Stack, exporter: InMemorySpanExporter, utility: Utility
) -> None:
    utility.subscribe(options(traced_stack.settings, WATER).orders_topic)
    send_water_order(traced_stack)
    wait_until(lambda: utility.received, what="the order on the broker")
    call_name = f"deliver to {WATER}"
    wait_until(lambda: named(exporter.get_finished_spans(), call_name), what="the call span")
    call = named(exporter.get_finished_spans(), call_name)[0]
    headers = utility.received[0]
    version, trace_id, parent_id, flags = headers["traceparent"].split("-")
    assert version == "00" and int(flags, 16) & 1  # sampled
    assert trace_id == format_trace_id(call.context.trace_id)
    assert parent_id == format_span_id(call.context.span_id)
    assert {"webhook-id", "webhook-signature"} <= headers.keys()  # next to the envelope


def test_without_tracing_an_order_carries_no_trace_context(
    make_stack: Callable[..., Stack], utility: Utility
) -> None:
    stack = make_stack(mqtt=True)
    utility.subscribe(options(stack.settings, WATER).orders_topic)
    send_water_order(stack)
    wait_until(lambda: utility.received, what="the order on the broker")
    assert not {"traceparent", "tracestate"} & utility.received[0].keys()
    assert "webhook-signature" in utility.received[0]


def update_sent_with(stack: Stack, utility: Utility, traceparent: str) -> int:
    """Publish a signed 已派工 update with `traceparent` for a dispatched order and wait
    for the hotline's callback; when it was sent (ns, the spans' clock)."""
    with httpx.Client(base_url=stack.url) as client:
        order_id = dispatched_water_order(stack, client)
    body = water_update(order_id)
    signer = MessageSigner([parse_signing_key(stack.agency_keys[WATER])])
    headers = {**signer.headers(f"trace-{order_id}", body), "traceparent": traceparent}
    sent = time.time_ns()
    utility.publish(options(stack.settings, WATER).status_topic, body, headers)
    wait_until(lambda: stack.hotline.last_status(order_id) == "signed", what="the callback")
    return sent


def callback_write(exporter: InMemorySpanExporter, since: int) -> ReadableSpan:
    """The database write, begun after `since`, that queued a hotline callback (the parent
    of that callback's delivery attempt): the one the update made (status sync's; not the
    deadline watch's, whose alerts on a slow machine go to the hotline too)."""

    def found() -> list[ReadableSpan]:
        spans = exporter.get_finished_spans()
        writes = {
            s.context.span_id: s
            for s in named(spans, "database write")
            if str((s.attributes or {}).get("code.function", "")).startswith("StatusSync.")
        }
        return [
            writes[attempt.parent.span_id]
            for attempt in named(spans, "delivery attempt")
            if attempt.attributes and attempt.attributes["agency"] == "hotline"
            if attempt.parent is not None and attempt.parent.span_id in writes
            if (writes[attempt.parent.span_id].start_time or 0) >= since
        ]

    writes = wait_until(found, what="the callback's delivery attempt")
    assert len(writes) == 1, writes
    return writes[0]


def test_an_update_is_handled_in_the_utilitys_trace_as_a_child_of_its_span(
    traced_stack: Stack, exporter: InMemorySpanExporter, utility: Utility
) -> None:
    sent = update_sent_with(traced_stack, utility, UTILITY_TRACEPARENT)
    write = callback_write(exporter, sent)
    assert format_trace_id(write.context.trace_id) == UTILITY_TRACE
    assert write.parent is not None and write.parent.is_remote
    assert format_span_id(write.parent.span_id) == UTILITY_SPAN
    # the hotline's callback, queued by the update, goes on in the utility's trace
    hotline_calls = named(exporter.get_finished_spans(), "deliver to hotline")
    assert any(format_trace_id(s.context.trace_id) == UTILITY_TRACE for s in hotline_calls)


def test_an_injected_provider_continues_the_utilitys_trace_with_the_setting_off(
    make_stack: Callable[..., Stack], exporter: InMemorySpanExporter, utility: Utility
) -> None:
    stack = make_stack(mqtt=True, tracer_provider=recording_provider(exporter))
    assert not stack.settings.tracing  # the provider alone switches tracing on
    write = callback_write(exporter, update_sent_with(stack, utility, UTILITY_TRACEPARENT))
    assert format_trace_id(write.context.trace_id) == UTILITY_TRACE
    assert write.parent is not None and format_span_id(write.parent.span_id) == UTILITY_SPAN


def test_a_malformed_traceparent_starts_a_new_trace_and_the_update_is_applied(
    traced_stack: Stack, exporter: InMemorySpanExporter, utility: Utility
) -> None:
    sent = update_sent_with(traced_stack, utility, f"00-{UTILITY_TRACE}-not-a-span-id-01")
    write = callback_write(exporter, sent)
    assert write.parent is None  # a root: a trace of its own
    assert format_trace_id(write.context.trace_id) != UTILITY_TRACE
    connector = traced_stack.app.state.gateway.connectors[WATER]
    assert (connector.applied, connector.refused) == (1, 0)


def test_the_simulated_utility_continues_the_orders_trace_in_its_updates(
    traced_stack: Stack, exporter: InMemorySpanExporter
) -> None:
    with httpx.Client(base_url=traced_stack.url) as client:
        order_id = client.post("/v1/work-orders", json=water_order()).json()["id"]
    wait_until(lambda: traced_stack.hotline.last_status(order_id) == "resolved", what="resolved")
    call = named(exporter.get_finished_spans(), f"deliver to {WATER}")[0]
    water = traced_stack.utilities[WATER]
    assert water.traceparents[0] is not None
    assert water.traceparents[0].split("-")[2] == format_span_id(call.context.span_id)
    children = [
        span
        for span in named(exporter.get_finished_spans(), "database write")
        if span.parent is not None and span.parent.span_id == call.context.span_id
    ]
    assert children and all(s.context.trace_id == call.context.trace_id for s in children)
