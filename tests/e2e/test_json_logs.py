"""`lianxin serve` logs one JSON object per line, with the ids of what it was working on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from connectors.simulators.agency import AgencySimulator, Script
from connectors.simulators.hotline import HotlineSimulator
from connectors.simulators.server import ServerThread
from gateway.signing import generate_ed25519_key, public_text_of
from tests.e2e.gateway_process import GatewayProcess, free_port
from tests.integration.api.helpers import order, wait_until


def json_lines(log: Path) -> list[dict[str, Any]]:
    """Every line of the log, each parsed as one JSON object (fails on any other line)."""
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_serve_logs_json_lines_with_the_ids_of_a_failed_delivery_and_no_phone_number(
    sqlite_url: str, tmp_path: Path
) -> None:
    key, agency_key, port = generate_ed25519_key(), generate_ed25519_key(), free_port()
    hotline = HotlineSimulator([public_text_of(key)])
    tax = AgencySimulator(
        "tax-12366", f"http://127.0.0.1:{port}", [public_text_of(key)], agency_key, Script(())
    )
    tax.fail_next = 1  # the first attempt is refused with 503: one warning line
    log = tmp_path / "gateway.log"
    with ServerThread(hotline.app) as hotline_server, ServerThread(tax.app) as tax_server:
        settings = {
            "database_url": sqlite_url,
            "hotline_callback_url": f"{hotline_server.url}/callbacks",
            "agency_endpoints": {"tax-12366": f"{tax_server.url}/orders"},
            "agency_keys": {"tax-12366": [public_text_of(agency_key)]},
            "signing_keys": [key],
            "poll_interval": 0.2,
        }
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
