"""OpenTelemetry behind the tracing port (`gateway.service.tracing`), and its set-up.

With LIANXIN_TRACING on, the composition root builds one `TracerProvider` that exports
over OTLP/HTTP to LIANXIN_OTLP_ENDPOINT; the API's requests (FastAPI instrumentation),
units of database work, delivery attempts and outbound calls become spans of it, and
each outbound call carries a W3C `traceparent` naming its span. Tests pass their own
provider (with the SDK's in-memory exporter).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import context, trace
from opentelemetry.propagate import inject
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from gateway.domain.messages import TRACE_HEADERS
from gateway.service.tracing import Attributes, NoTracing, Tracing
from gateway.settings import Settings

SCOPE = "lianxin"
_W3C = TraceContextTextMapPropagator()


class OtelTracing:
    """Spans of one tracer provider; trace context written with the W3C propagator."""

    active = True

    def __init__(self, provider: trace.TracerProvider) -> None:
        self.tracer = provider.get_tracer(SCOPE)

    @contextmanager
    def span(
        self,
        name: str,
        attributes: Attributes,
        *,
        client: bool = False,
        parent: str | None = None,
    ) -> Iterator[None]:
        """A span current inside the block (a child of `parent`, a traceparent, if
        given); an escaping exception marks it failed."""
        kind = trace.SpanKind.CLIENT if client else trace.SpanKind.INTERNAL
        context = _W3C.extract({"traceparent": parent}) if parent else None
        with self.tracer.start_as_current_span(
            name, context=context, kind=kind, attributes=dict(attributes)
        ):
            yield

    def inject(self, headers: dict[str, str]) -> None:
        """Add `traceparent` (and `tracestate`) for the current span."""
        inject(headers)

    @contextmanager
    def continued(self, headers: Mapping[str, str]) -> Iterator[None]:
        """The sender's span made the current parent inside the block."""
        carrier = {name: headers[name] for name in TRACE_HEADERS if name in headers}
        # extract never raises: a traceparent it cannot parse gives an empty context, that
        # is no parent, so what is traced inside starts afresh
        token = context.attach(_W3C.extract(carrier, context=context.Context()))
        try:
            yield
        finally:
            context.detach(token)


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span; None outside any (tracing off)."""
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    return carrier.get("traceparent")


def otlp_provider(settings: Settings) -> TracerProvider:
    """A provider exporting in batches over OTLP/HTTP, as the settings say."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: settings.service_name}))
    exporter = OTLPSpanExporter(endpoint=settings.otlp_endpoint)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def provider_for(settings: Settings, given: TracerProvider | None = None) -> TracerProvider | None:
    """The provider to trace with: `given`, else one from the settings if tracing is on."""
    if given is not None:
        return given
    return otlp_provider(settings) if settings.tracing else None


def tracing_for(provider: TracerProvider | None) -> Tracing:
    """The tracing port over `provider`, or one that does nothing."""
    return NoTracing() if provider is None else OtelTracing(provider)
