"""An agency that requires the national algorithms: HMAC-SM3 both ways, SM4-GCM fields."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
from pydantic import SecretStr

from connectors.simulators.agency import AgencySimulator, Script
from connectors.simulators.server import ServerThread
from gateway.crypto.signing import generate_sm3_secret
from gateway.crypto.sm4 import generate_sm4_key, parse_sm4_key
from tests.conftest import Stack
from tests.integration.api.helpers import mappings_copy, order, signed_post, wait_until

NATIONAL = (
    '[signing]\nscheme = "v1a"',
    '[signing]\nscheme = "v1sm3"\n\n[field_encryption]\n'
    'algorithm = "SM4-GCM"\nfields = ["lxr.dh", "lxr.xm"]',
)


def test_an_sm3_agency_gets_sm3_signed_orders_with_sm4_fields_and_answers_in_sm3(
    make_stack: Callable[..., Stack], tmp_path: Path
) -> None:
    secret, field_key = generate_sm3_secret(), generate_sm4_key()
    script = Script(steps=(("已签收", 0.05), ("已办结", 0.05)), result="已答复。")
    tax = AgencySimulator("tax-12366", "", [secret], secret, script, "SM")
    with ServerThread(tax.app) as server:
        stack = make_stack(
            mappings_dir=mappings_copy(tmp_path, {"agencies/tax-12366.toml": NATIONAL}),
            more_endpoints={"tax-12366": f"{server.url}/orders"},
            agency_secrets={"tax-12366": SecretStr(secret)},
            agency_field_keys={"tax-12366": SecretStr(field_key)},
        )
        tax.gateway_url = stack.url
        with httpx.Client(base_url=stack.url) as client:
            order_id = client.post("/v1/work-orders", json=order("SM-1")).json()["id"]
            wait_until(lambda: stack.hotline.last_status(order_id) == "resolved", what="resolved")
            forged = signed_post(  # a valid Ed25519 signature is not what this agency uses
                client,
                "tax-12366",
                stack.agency_keys["tax-12366"],
                {"type": "status", "order_id": order_id, "status": "已办结"},
                "forged-1",
            )
    assert tax.refused == 0, "the agency verified our HMAC-SM3 signature"
    sent = tax.payloads[0]["work_order"]["lxr"]
    cipher = parse_sm4_key(field_key)
    assert "13900001111" not in json.dumps(tax.payloads[0], ensure_ascii=False)
    assert cipher.decrypt(sent["dh"], f"{order_id}|lxr.dh".encode()) == b'"13900001111"'
    assert json.loads(cipher.decrypt(sent["xm"], f"{order_id}|lxr.xm".encode())) == "李先生"
    assert forged.status_code == 401, forged.text
    assert tax.updates_refused == [], "our gateway accepted the agency's SM3 signatures"
