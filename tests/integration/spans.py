"""Spans kept in memory for the tracing tests: a provider that records into an exporter
(the `exporter` fixture: tests/conftest.py), and the spans of one name."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def recording_provider(exporter: InMemorySpanExporter) -> TracerProvider:
    """A tracer provider whose every finished span goes to `exporter` at once."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def named(spans: Sequence[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name == name]
