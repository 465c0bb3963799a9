"""An MQTT update's trace context: continued through the tracing port while it is handled
(`Tracing.continued`, wrapped around a listener's handler by `gateway.bootstrap.continuing`),
ignored when it is malformed or nothing is traced (no broker: the port and the wrapper)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import format_span_id, format_trace_id

from connectors.mqtt.options import user_properties
from gateway.bootstrap import continuing
from gateway.observability.tracing import OtelTracing
from gateway.service.tracing import NoTracing

TRACE = "0af7651916cd43dd8448eb211c80319c"
SPAN = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE}-{SPAN}-01"
PROVIDER = TracerProvider()  # an injected provider: LIANXIN_TRACING plays no part
TRACING = OtelTracing(PROVIDER)
TRACER = PROVIDER.get_tracer("test")


def handled_span(headers: dict[str, str]) -> trace.Span:
    """The span the handling of a message with `headers` would open."""
    with TRACING.continued(headers), TRACER.start_as_current_span("database write") as span:
        return span


def test_the_handling_continues_the_senders_trace_as_a_child_of_its_span() -> None:
    span = handled_span({"traceparent": TRACEPARENT, "webhook-id": "m1"})
    parent = span.parent  # type: ignore[attr-defined]
    assert format_trace_id(span.get_span_context().trace_id) == TRACE
    assert parent.is_remote and format_span_id(parent.span_id) == SPAN


def test_the_senders_tracestate_goes_on_with_its_trace() -> None:
    span = handled_span({"traceparent": TRACEPARENT, "tracestate": "utility=7"})
    assert span.get_span_context().trace_state.get("utility") == "7"


@pytest.mark.parametrize(
    "traceparent",
    [
        "not a traceparent",
        f"00-{TRACE}-not-a-span-id-01",
        f"00-{'0' * 32}-{SPAN}-01",  # the all-zero trace id is invalid
        "",
    ],
)
def test_a_malformed_traceparent_starts_a_new_trace(traceparent: str) -> None:
    span = handled_span({"traceparent": traceparent})
    assert span.parent is None  # type: ignore[attr-defined]
    assert format_trace_id(span.get_span_context().trace_id) != TRACE


def test_without_tracing_nothing_of_the_sender_is_made_current() -> None:
    with NoTracing().continued({"traceparent": TRACEPARENT}):
        assert not trace.get_current_span().get_span_context().is_valid


def test_the_senders_context_is_current_only_inside_the_block() -> None:
    with TRACING.continued({"traceparent": TRACEPARENT}):
        assert format_span_id(trace.get_current_span().get_span_context().span_id) == SPAN
    assert not trace.get_current_span().get_span_context().is_valid


async def current_span_id(agency: str, headers: Mapping[str, str], body: bytes) -> str:
    """A handler answering the span id current while it runs."""
    return format_span_id(trace.get_current_span().get_span_context().span_id)


async def test_a_listeners_handler_runs_in_the_senders_trace() -> None:
    handler = continuing(current_span_id, TRACING)
    assert await handler("water-utility", {"traceparent": TRACEPARENT}, b"{}") == SPAN
    assert not trace.get_current_span().get_span_context().is_valid


def test_with_nothing_traced_the_handler_is_given_as_it_is() -> None:
    assert continuing(current_span_id, NoTracing()) is current_span_id


def test_trace_headers_become_user_properties_under_the_http_names() -> None:
    headers = {"webhook-id": "m1", "traceparent": TRACEPARENT, "tracestate": "lianxin=1"}
    assert dict(user_properties(headers)) == headers
