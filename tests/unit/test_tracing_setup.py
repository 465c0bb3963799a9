"""Tracing is switched on by settings; off, nothing is traced and no header is added."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from gateway.observability.tracing import OtelTracing, provider_for, tracing_for
from gateway.service.tracing import NoTracing
from gateway.settings import Settings


def test_tracing_is_off_by_default_and_adds_no_header() -> None:
    provider = provider_for(Settings())
    assert provider is None
    tracing = tracing_for(provider)
    assert isinstance(tracing, NoTracing)
    headers: dict[str, str] = {}
    with tracing.span("delivery attempt", {"agency": "tax-12366"}):
        tracing.inject(headers)
    assert headers == {}


def test_the_tracing_setting_builds_a_provider_named_by_the_service_name_setting() -> None:
    provider = provider_for(Settings(tracing=True, service_name="lianxin-gz"))
    assert isinstance(provider, TracerProvider)
    assert provider.resource.attributes["service.name"] == "lianxin-gz"
    provider.shutdown()


def test_a_given_provider_is_used_even_with_the_setting_off() -> None:
    given = TracerProvider()
    assert provider_for(Settings(), given) is given


def test_inside_a_span_the_traceparent_names_that_span() -> None:
    tracing = OtelTracing(TracerProvider())
    headers: dict[str, str] = {}
    with tracing.span("deliver to tax-12366", {"agency": "tax-12366"}, client=True):
        tracing.inject(headers)
        current = trace.get_current_span().get_span_context()
    version, trace_id, span_id, _flags = headers["traceparent"].split("-")
    assert version == "00"
    assert (trace_id, span_id) == (
        trace.format_trace_id(current.trace_id),
        trace.format_span_id(current.span_id),
    )
