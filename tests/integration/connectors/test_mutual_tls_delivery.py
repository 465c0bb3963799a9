"""Mutual TLS to an agency end to end: the gateway delivers a tax order to an agency that
demands a client certificate, with the certificates `lianxin certs init` issued."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.simulators.mutual_tls import MutualTlsAgency
from gateway.crypto import certs
from gateway.settings import REPO_ROOT
from tests.conftest import Stack
from tests.integration.api.helpers import order, wait_until

TAX = "tax-12366"


@pytest.fixture
def issued(tmp_path: Path) -> certs.Issued:
    return certs.init(tmp_path / "certs", [TAX])


@pytest.fixture
def agency(issued: certs.Issued) -> Iterator[MutualTlsAgency]:
    with MutualTlsAgency(issued) as running:
        yield running


def mappings_with(tmp_path: Path, tls: str) -> Path:
    """The shipped mappings, the tax profile given `tls` as its [http.tls] table."""
    root = tmp_path / "mappings"
    shutil.copytree(REPO_ROOT / "mappings", root)
    tax = root / "agencies" / f"{TAX}.toml"
    text = tax.read_text(encoding="utf-8").replace(
        "schedule = [0, 5, 300,", "schedule = [0, 0.2, 300,"
    )
    tax.write_text(f"{text}\n[http.tls]\n{tls}\n", encoding="utf-8")
    return root


def tax_handoff(client: httpx.Client, order_id: str) -> dict[str, Any]:
    view = client.get(f"/v1/work-orders/{order_id}").json()
    return dict(next(h for h in view["handoffs"] if h["agency"] == TAX))


def post_order(client: httpx.Client) -> str:
    answer = client.post("/v1/work-orders", json=order(flow_id="GZ-MTLS-1"))
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


def test_a_delivery_to_an_agency_demanding_mutual_tls_succeeds_with_our_certificate(
    make_stack: Callable[..., Stack], tmp_path: Path, issued: certs.Issued, agency: MutualTlsAgency
) -> None:
    tls = f'ca = "{issued.ca}"\ncert = "{issued.outbound_cert}"\nkey = "{issued.outbound_key}"'
    stack = make_stack(mappings_dir=mappings_with(tmp_path, tls), more_endpoints={TAX: agency.url})
    with httpx.Client(base_url=stack.url) as client:
        order_id = post_order(client)
        done = lambda: tax_handoff(client, order_id)["state"] == "delivered"  # noqa: E731
        wait_until(done, timeout=15, what="the tax handoff delivered")
        handoff = tax_handoff(client, order_id)
    assert agency.received == [handoff["id"]]
    assert handoff["agency_ref"] == "MTLS-000001"


def test_the_same_agency_refuses_a_delivery_without_a_client_certificate(
    make_stack: Callable[..., Stack], tmp_path: Path, issued: certs.Issued, agency: MutualTlsAgency
) -> None:
    stack = make_stack(
        mappings_dir=mappings_with(tmp_path, f'ca = "{issued.ca}"'),
        more_endpoints={TAX: agency.url},
    )
    with httpx.Client(base_url=stack.url) as client:
        order_id = post_order(client)
        tried = lambda: tax_handoff(client, order_id)["attempts"] >= 2  # noqa: E731
        wait_until(tried, timeout=15, what="two refused attempts")
        handoff = tax_handoff(client, order_id)
    assert handoff["state"] != "delivered" and handoff["last_error"]
    assert agency.received == []
