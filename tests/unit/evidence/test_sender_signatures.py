"""The agencies' signatures on what they send: kept with the audit entries that record each
message (with its body kept apart), and checked again offline from a bundle."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from gateway.crypto.signing import (
    MessageSigner,
    generate_ed25519_key,
    generate_hmac_secret,
    parse_signing_key,
    public_text_of,
    signature_checks,
)
from gateway.domain.errors import EvidenceError, UnknownOrder
from gateway.domain.evidence import (
    UNRECORDED,
    Bundle,
    sender_signature,
    signed_block,
    unsigned_block,
)
from gateway.service.audit import digest
from gateway.service.orders.status_sync import PULLED, parse_json
from gateway.service.sender_check import check_senders
from tests.unit.service.world import AGENCY_KEY, CITY, World, submitted, update

ID_LIKE = "110101199003071234"  # an agency message id that looks like an ID number


def signed_detail(world: World, order_id: str) -> list[dict[str, Any]]:
    details = [json.loads(r.detail) for r in world.store.audit_records() if r.order_id == order_id]
    return [d["signed"] for d in details if "signed" in d]


async def test_each_entry_of_a_received_update_keeps_what_re_verifies_its_signature() -> None:
    world = World()
    order_id = (await world.accept(submitted())).order.id
    message = update(order_id, "accepted", world.clock.now)
    headers, body = world.signed(ID_LIKE, message)
    await world.sync.receive(CITY, headers, body)
    kept = signed_detail(world, order_id)
    assert kept and all(block == kept[0] for block in kept)
    block = kept[0]
    assert block["id"] == ID_LIKE  # exempt from masking: it must stay byte for byte
    assert block["signature"] == headers["webhook-signature"]
    assert block["body_sha256"] == digest(body)
    stored = world.store.state.inbound_bodies[CITY, ID_LIKE]
    assert stored == body
    key = [public_text_of(AGENCY_KEY)]
    assert signature_checks(block["id"], block["timestamp"], stored, block["signature"], key)
    assert not signature_checks(
        block["id"], block["timestamp"] + 1, stored, block["signature"], key
    )


async def test_a_pulled_message_is_recorded_as_carried_unsigned() -> None:
    world = World()
    order_id = (await world.accept(submitted())).order.id
    body = json.dumps(update(order_id, "accepted", world.clock.now)).encode()
    await world.sync.accept_pulled(CITY, "board-7", body, parse_json)
    (block,) = set(map(json.dumps, signed_detail(world, order_id)))
    assert json.loads(block) == {"scheme": "none", "why": PULLED, "body_sha256": digest(body)}


def bundle(messages: list[dict[str, Any]], keys: list[str], plain: bool = True) -> Bundle:
    return Bundle.model_validate(
        {
            "format": "lianxin-evidence/2",
            "order_id": "wo_1",
            "exported_at": "2026-12-07T05:00:00+00:00",
            "exported_by": "test",
            "personal_data": "plain" if plain else "masked",
            "entries": [],
            "messages": messages,
            "proofs": [],
            "checkpoints": [],
            "witnesses": [],
            "keys": {CITY: keys},
        }
    )


def received(
    key_text: str, body: bytes = b'{"status":"accepted"}', **change: Any
) -> dict[str, Any]:
    headers = MessageSigner([parse_signing_key(key_text)]).headers("m-1", body, 1_796_601_600)
    signed = signed_block("m-1", 1_796_601_600, headers["webhook-signature"], "k", digest(body))
    message = {
        "seq": 9,
        "event": "status_applied",
        "direction": "in",
        "party": CITY,
        "handoff_id": None,
        "message_id": "m-1",
        "payload_digest": None,
        "signature": None,
        "signed": signed,
        "body": base64.b64encode(body).decode(),
    }
    return {**message, **change}


def test_an_ed25519_signature_verifies_with_the_agency_key_in_the_bundle() -> None:
    key = generate_ed25519_key()
    counts = check_senders(bundle([received(key)], [public_text_of(key)]))
    assert counts == {"verified": 1, "withheld": 0, "shared_secret": 0, "unsigned": 0}


def test_another_key_in_the_bundle_is_named_as_the_signature_failing() -> None:
    key = generate_ed25519_key()
    other = public_text_of(generate_ed25519_key())
    with pytest.raises(EvidenceError, match=rf"from {CITY}, id m-1\): the sender's signature"):
        check_senders(bundle([received(key)], [other]))


def test_a_changed_body_is_named() -> None:
    key = generate_ed25519_key()
    changed = received(key, body=b'{"status":"accepted"}')
    changed["body"] = base64.b64encode(b'{"status":"acceptec"}').decode()
    with pytest.raises(EvidenceError, match="its body does not match the digest"):
        check_senders(bundle([changed], [public_text_of(key)]))


def test_a_masked_bundle_says_the_body_was_withheld_and_may_not_carry_one() -> None:
    key = generate_ed25519_key()
    withheld = {**received(key), "body": None}
    counts = check_senders(bundle([withheld], [], plain=False))
    assert counts["withheld"] == 1
    with pytest.raises(EvidenceError, match="a body in a bundle marked 'masked'"):
        check_senders(bundle([received(key)], [], plain=False))


def test_hmac_and_unsigned_messages_are_counted_apart_not_failed() -> None:
    hmac = received(generate_hmac_secret())
    unsigned = received(
        generate_ed25519_key(),
        message_id="m-2",
        signed=unsigned_block(PULLED, digest(b'{"status":"accepted"}')),
    )
    counts = check_senders(bundle([hmac, unsigned], []))
    assert counts == {"verified": 0, "withheld": 0, "shared_secret": 1, "unsigned": 1}


async def test_a_verified_message_refused_keeps_its_signature_on_the_refusal() -> None:
    world = World()
    headers, body = world.signed("m-9", update("wo_missing", "accepted", world.clock.now))
    with pytest.raises(UnknownOrder):
        await world.sync.receive(CITY, headers, body)
    (refusal,) = world.store.audit_records()
    signed = json.loads(refusal.detail)["signed"]
    assert (signed["id"], signed["signature"]) == ("m-9", headers["webhook-signature"])


def test_a_received_message_without_signature_material_says_so() -> None:
    assert sender_signature('{"msg_id":"m-1"}', inbound=True) == UNRECORDED
    assert sender_signature('{"msg_id":"m-1"}', inbound=False) is None
    unrecorded = {**received(generate_ed25519_key()), "signed": UNRECORDED, "body": None}
    assert check_senders(bundle([unrecorded], []))["unsigned"] == 1


def test_a_changed_agency_key_text_is_named_not_a_crash() -> None:
    key = generate_ed25519_key()
    broken = public_text_of(key)[:-3] + "!!="
    with pytest.raises(EvidenceError, match=f"keys.{CITY}: a whpk_ key is not valid base64"):
        check_senders(bundle([received(key)], [broken]))
