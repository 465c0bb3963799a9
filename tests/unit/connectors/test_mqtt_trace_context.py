"""An MQTT update's trace context: continued while it is handled when tracing is on,
ignored when it is malformed or tracing is off (no broker: the context manager alone)."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import format_span_id, format_trace_id

import connectors
from connectors.mqtt.options import resolve, user_properties
from connectors.mqtt.trace_context import continued
from gateway.mapping.loader import load_mappings
from gateway.settings import REPO_ROOT, Settings

TRACE = "0af7651916cd43dd8448eb211c80319c"
SPAN = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE}-{SPAN}-01"
TRACER = TracerProvider().get_tracer("test")


def handled_span(headers: dict[str, str], enabled: bool = True) -> trace.Span:
    """The span the handling of a message with `headers` would open."""
    with continued(headers, enabled), TRACER.start_as_current_span("database write") as span:
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
    with continued({"traceparent": TRACEPARENT}, enabled=False):
        assert not trace.get_current_span().get_span_context().is_valid


def test_the_senders_context_is_current_only_inside_the_block() -> None:
    with continued({"traceparent": TRACEPARENT}, enabled=True):
        assert format_span_id(trace.get_current_span().get_span_context().span_id) == SPAN
    assert not trace.get_current_span().get_span_context().is_valid


@pytest.mark.parametrize("tracing", [True, False])
def test_the_options_follow_lianxin_tracing(tracing: bool) -> None:
    settings = Settings(tracing=tracing)
    mappings = load_mappings(
        REPO_ROOT / "mappings", "routing/catalogue.toml", connectors.TRANSPORTS
    )
    assert resolve(mappings.agencies["water-utility"], settings).tracing is tracing


def test_trace_headers_become_user_properties_under_the_http_names() -> None:
    headers = {"webhook-id": "m1", "traceparent": TRACEPARENT, "tracestate": "lianxin=1"}
    assert dict(user_properties(headers)) == headers
