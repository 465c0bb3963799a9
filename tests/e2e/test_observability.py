"""`lianxin serve` logs one JSON object per line, with the ids of what it was working on,
and with LIANXIN_TRACING on exports its spans over OTLP/HTTP to a collector."""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.simulators.server import ServerThread
from gateway.world.simulated import serve_simulators
from tests.e2e.gateway_process import GatewayProcess, free_port
from tests.integration.api.helpers import order, wait_until


def json_lines(log: Path) -> list[dict[str, Any]]:
    """Every line of the log, each parsed as one JSON object (fails on any other line)."""
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_serve_logs_json_lines_with_the_ids_of_a_failed_delivery_and_no_phone_number(
    sqlite_url: str, tmp_path: Path
) -> None:
    port, log = free_port(), tmp_path / "gateway.log"
    with ExitStack() as stack:
        world = serve_simulators(stack, [f"http://127.0.0.1:{port}"])
        tax = world.simulators.agencies["tax-12366"]
        tax.fail_next = 1  # the first attempt is refused with 503: one warning line
        settings = {**world.gateway_settings(), "database_url": sqlite_url, "poll_interval": 0.2}
        gateway = GatewayProcess(port, settings, log)
        gateway.start()
        try:
            accepted = httpx.post(f"{gateway.url}/v1/work-orders", json=order(), timeout=5)
            assert accepted.status_code == 202, accepted.text
            wait_until(lambda: len(tax.traceparents) >= 1, what="the first attempt")
            wait_until(
                lambda: any("failed" in line["message"] for line in json_lines(log)),
                what="the failure's log line",
            )
        finally:
            gateway.stop()
    lines = json_lines(log)
    failed = next(line for line in lines if line["message"].startswith("delivery attempt 1"))
    assert failed["level"] == "WARNING" and failed["logger"] == "lianxin.dispatch"
    assert failed["order_id"] == accepted.json()["id"]
    assert failed["handoff_id"] == accepted.json()["handoffs"][0]
    assert failed["agency"] == "tax-12366"
    assert "13900001111" not in log.read_text()  # the caller's phone (helpers.order)


class Collector:
    """An OTLP/HTTP traces receiver on loopback: what it was sent, decoded."""

    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        self.app = Starlette(routes=[Route("/v1/traces", self._traces, methods=["POST"])])

    async def _traces(self, request: Request) -> Response:
        self.requests.append(ExportTraceServiceRequest.FromString(await request.body()))
        return Response(b"", media_type="application/x-protobuf")

    def spans(self) -> list[tuple[str, str]]:
        """(service.name, span name) of every span received."""
        found = []
        for export in self.requests:
            for resource in export.resource_spans:
                names = [a.value.string_value for a in resource.resource.attributes]
                service = names[[a.key for a in resource.resource.attributes].index("service.name")]
                for scope in resource.scope_spans:
                    found += [(service, span.name) for span in scope.spans]
        return found


@pytest.mark.slow
def test_serve_with_tracing_on_exports_the_intake_and_delivery_spans_to_the_collector(
    sqlite_url: str, tmp_path: Path
) -> None:
    port, collector = free_port(), Collector()
    with ExitStack() as stack:
        world = serve_simulators(stack, [f"http://127.0.0.1:{port}"])
        tax = world.simulators.agencies["tax-12366"]
        collector_server = stack.enter_context(ServerThread(collector.app))
        settings = {
            **world.gateway_settings(),
            "database_url": sqlite_url,
            "tracing": "true",
            "otlp_endpoint": f"{collector_server.url}/v1/traces",
            "service_name": "lianxin-test",
        }
        gateway = GatewayProcess(port, settings, tmp_path / "gateway.log")
        gateway.env["OTEL_BSP_SCHEDULE_DELAY"] = "100"  # export every 0.1 s, not 5 s
        gateway.start()
        try:
            accepted = httpx.post(f"{gateway.url}/v1/work-orders", json=order(), timeout=5)
            assert accepted.status_code == 202, accepted.text
            wait_until(
                lambda: ("lianxin-test", "deliver to tax-12366") in collector.spans(),
                what="the outbound call's span at the collector",
            )
        finally:
            gateway.stop()
    spans = collector.spans()
    assert ("lianxin-test", "POST /v1/work-orders") in spans
    assert ("lianxin-test", "delivery attempt") in spans
    assert ("lianxin-test", "database write") in spans
    assert tax.traceparents[0] is not None
