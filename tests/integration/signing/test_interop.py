"""Our signatures against independent implementations: `standardwebhooks` (v1) and PyNaCl (v1a)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import nacl.signing
from standardwebhooks.webhooks import Webhook

from gateway.crypto.signing import (
    MessageSigner,
    MessageVerifier,
    generate_ed25519_key,
    generate_hmac_secret,
    parse_signing_key,
    parse_verifying_key,
    public_text_of,
    signed_content,
)
from tests.conftest import Stack
from tests.integration.api.helpers import order, wait_until

BODY = json.dumps({"type": "status", "status": "已签收"}, ensure_ascii=False).encode()


def test_a_v1_signature_of_ours_verifies_with_standardwebhooks() -> None:
    secret = generate_hmac_secret()
    headers = MessageSigner([parse_signing_key(secret)]).headers("msg_1", BODY)
    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)


def test_a_v1_signature_made_by_standardwebhooks_verifies_with_ours() -> None:
    secret = generate_hmac_secret()
    now = datetime.now(UTC)
    signature = Webhook(secret).sign("msg_2", now, BODY.decode())
    headers = {
        "webhook-id": "msg_2",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    assert MessageVerifier([parse_verifying_key(secret)]).verify(headers, BODY).msg_id == "msg_2"


def test_a_v1a_signature_of_ours_verifies_with_pynacl() -> None:
    key = generate_ed25519_key()
    headers = MessageSigner([parse_signing_key(key)]).headers("msg_3", BODY)
    scheme, encoded = headers["webhook-signature"].split(",")
    public = base64.b64decode(public_text_of(key).removeprefix("whpk_"))
    content = signed_content("msg_3", int(headers["webhook-timestamp"]), BODY)
    assert scheme == "v1a"
    nacl.signing.VerifyKey(public).verify(content, base64.b64decode(encoded))


def test_a_v1a_signature_made_by_pynacl_verifies_with_ours() -> None:
    signing = nacl.signing.SigningKey.generate()
    public = "whpk_" + base64.b64encode(bytes(signing.verify_key)).decode()
    stamp = int(time.time())
    signature = signing.sign(signed_content("msg_4", stamp, BODY)).signature
    headers = {
        "webhook-id": "msg_4",
        "webhook-timestamp": str(stamp),
        "webhook-signature": "v1a," + base64.b64encode(signature).decode(),
    }
    assert MessageVerifier([parse_verifying_key(public)]).verify(headers, BODY).msg_id == "msg_4"


def test_an_agency_update_signed_by_standardwebhooks_is_applied(
    make_stack: Callable[..., Stack],
) -> None:
    secret = generate_hmac_secret()
    stack = make_stack(agency_secrets={"tax-12366": secret})
    with httpx.Client(base_url=stack.url) as client:
        order_id = client.post("/v1/work-orders", json=order()).json()["id"]
        wait_until(
            lambda: client.get(f"/v1/work-orders/{order_id}").json()["status"] == "dispatched"
        )
        now = datetime.now(UTC)
        update = json.dumps(
            {
                "type": "status",
                "order_id": order_id,
                "status": "已签收",
                "occurred_at": now.isoformat(),
            },
            ensure_ascii=False,
        )
        headers = {
            "webhook-id": "sw-1",
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(secret).sign("sw-1", now, update),
            "content-type": "application/json",
        }
        response = client.post("/v1/inbound/tax-12366", content=update.encode(), headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "signed"
