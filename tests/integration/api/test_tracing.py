"""Traces and log lines over real HTTP: the hotline's request, the database work, the
delivery attempt and the outbound call, with the agency receiving a traceparent that names
the call, and a failed attempt logged as JSON with its ids and trace."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, format_span_id, format_trace_id

from gateway.observability.logs import configure_logging
from tests.conftest import Stack
from tests.integration.api.helpers import order, wait_until
from tests.integration.soap.test_police110 import police_order
from tests.integration.spans import named, recording_provider

HOTLINE_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
HOTLINE_TRACEPARENT = f"00-{HOTLINE_TRACE}-00f067aa0ba902b7-01"


@pytest.fixture
def traced_stack(make_stack: Callable[..., Stack], exporter: InMemorySpanExporter) -> Stack:
    return make_stack(tracer_provider=recording_provider(exporter))


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The process's log as JSON lines (the root's handlers are put back afterwards)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    out = io.StringIO()
    configure_logging("INFO", "json", out)
    yield out
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.captureWarnings(False)


def submit(stack: Stack) -> str:
    """Submit an order in the hotline's own trace; the tax handoff's id."""
    with httpx.Client(base_url=stack.url) as client:
        accepted = client.post(
            "/v1/work-orders", json=order(), headers={"traceparent": HOTLINE_TRACEPARENT}
        )
    assert accepted.status_code == 202, accepted.text
    return str(accepted.json()["handoffs"][0])


def delivered_spans(exporter: InMemorySpanExporter) -> tuple[ReadableSpan, ReadableSpan]:
    """The first tax delivery's attempt span and its outbound call span, once both ended."""
    call_name = "deliver to tax-12366"
    wait_until(lambda: named(exporter.get_finished_spans(), call_name), what="the call span")
    wait_until(lambda: named(exporter.get_finished_spans(), "delivery attempt"), what="attempt")
    spans = exporter.get_finished_spans()
    return named(spans, "delivery attempt")[0], named(spans, call_name)[0]


def test_the_intake_request_continues_the_hotlines_trace_down_to_the_database(
    traced_stack: Stack, exporter: InMemorySpanExporter
) -> None:
    submit(traced_stack)

    def server_spans() -> list[ReadableSpan]:  # the server span ends after the answer is sent
        finished = exporter.get_finished_spans()
        return [s for s in finished if s.kind == SpanKind.SERVER and s.name.startswith("POST")]

    server = wait_until(server_spans, what="the intake's server span")
    spans = exporter.get_finished_spans()
    assert len(server) == 1 and format_trace_id(server[0].context.trace_id) == HOTLINE_TRACE
    writes = [s for s in named(spans, "database write") if s.parent is not None]
    intake_writes = [s for s in writes if s.context.trace_id == server[0].context.trace_id]
    assert intake_writes, [s.name for s in spans]
    assert intake_writes[0].kind == SpanKind.CLIENT
    assert intake_writes[0].attributes is not None
    assert intake_writes[0].attributes["db.system"] in ("sqlite", "postgresql")


def test_a_delivery_attempt_is_a_span_naming_its_agency_handoff_and_attempt(
    traced_stack: Stack, exporter: InMemorySpanExporter
) -> None:
    handoff_id = submit(traced_stack)
    attempt, call = delivered_spans(exporter)
    assert attempt.attributes is not None
    assert attempt.attributes["agency"] == "tax-12366"
    assert attempt.attributes["handoff_id"] == handoff_id
    assert attempt.attributes["attempt"] == 1
    assert call.kind == SpanKind.CLIENT
    assert call.parent is not None and call.parent.span_id == attempt.context.span_id


def test_the_attempt_continues_the_trace_of_the_request_that_wrote_its_handoff(
    traced_stack: Stack, exporter: InMemorySpanExporter
) -> None:
    submit(traced_stack)
    attempt, _call = delivered_spans(exporter)
    spans = exporter.get_finished_spans()
    writes = {s.context.span_id: s for s in named(spans, "database write")}
    assert attempt.parent is not None and attempt.parent.span_id in writes
    write = writes[attempt.parent.span_id]
    assert format_trace_id(write.context.trace_id) == HOTLINE_TRACE
    server = next(s for s in spans if s.kind == SpanKind.SERVER)
    assert write.parent is not None and write.parent.span_id == server.context.span_id


def test_the_agency_receives_a_traceparent_naming_the_outbound_call(
    traced_stack: Stack, exporter: InMemorySpanExporter
) -> None:
    submit(traced_stack)
    _attempt, call = delivered_spans(exporter)
    tax = traced_stack.agencies["tax-12366"]
    received = tax.traceparents[0]
    assert received is not None
    version, trace_id, parent_id, flags = received.split("-")
    assert (version, trace_id) == ("00", format_trace_id(call.context.trace_id))
    assert trace_id == HOTLINE_TRACE  # one trace from the hotline's request to the agency
    assert parent_id == format_span_id(call.context.span_id)
    assert int(flags, 16) & 1  # sampled


def test_without_tracing_no_traceparent_is_sent(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack()
    submit(stack)
    tax = stack.agencies["tax-12366"]
    wait_until(lambda: tax.traceparents, what="the delivery")
    assert tax.traceparents == [None]


def test_a_failed_attempt_is_logged_as_json_with_its_ids_and_trace(
    traced_stack: Stack, exporter: InMemorySpanExporter, json_log: io.StringIO
) -> None:
    tax = traced_stack.agencies["tax-12366"]
    tax.fail_next = 1
    handoff_id = submit(traced_stack)
    attempt, _call = delivered_spans(exporter)
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    failed = [line for line in lines if line["message"].startswith("delivery attempt 1 failed")]
    assert len(failed) == 1, lines
    line = failed[0]
    assert line["level"] == "WARNING" and line["logger"] == "lianxin.dispatch"
    assert (line["agency"], line["handoff_id"]) == ("tax-12366", handoff_id)
    assert line["order_id"].startswith("wo_")
    assert line["trace_id"] == format_trace_id(attempt.context.trace_id)


def test_110_receives_the_traceparent_of_its_soap_call(
    traced_stack: Stack, exporter: InMemorySpanExporter
) -> None:
    with httpx.Client(base_url=traced_stack.url) as client:
        accepted = client.post("/v1/work-orders", json=police_order())
    assert accepted.status_code == 202, accepted.text
    call_name = "deliver to police-110"
    wait_until(lambda: named(exporter.get_finished_spans(), call_name), what="the SOAP call")
    call = named(exporter.get_finished_spans(), call_name)[0]
    police = traced_stack.police
    assert police is not None and police.traceparents
    received = police.traceparents[0]
    assert received is not None
    assert received.split("-")[1:3] == [
        format_trace_id(call.context.trace_id),
        format_span_id(call.context.span_id),
    ]
