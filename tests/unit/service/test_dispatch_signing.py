"""How the dispatcher signs an attempt: once, and the entry names the signature sent.

A connector that sends the JSON body as it is (REST, MQTT, the memory connector) gets it
signed up front; one that sends another wire form (SOAP, a board reply) signs that itself
with `Delivery.sign`, and the dispatcher signs nothing for it."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field

from gateway.crypto.signing import MessageSigner, parse_signing_key
from gateway.domain.audit import AuditRecord
from gateway.domain.errors import DeliveryError, TransientDelivery
from gateway.domain.messages import Delivery, HandoffKind, Receipt
from tests.unit.service.world import CITY, GATEWAY_KEY, World, submitted


class CountingSigner(MessageSigner):
    """The gateway's signer, counting what it signs per message id."""

    def __init__(self) -> None:
        super().__init__([parse_signing_key(GATEWAY_KEY)])
        self.signed: Counter[str] = Counter()

    def headers(self, msg_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        self.signed[msg_id] += 1
        return super().headers(msg_id, body, timestamp)


@dataclass
class WireSigningAgency:
    """Sends its own wire form of each message (as SOAP and the portal do), signed with
    `Delivery.sign`; `sends_nothing` answers without a call (an event with no operation)."""

    signs_what_it_sends = True
    fail_with: DeliveryError | None = None
    sends_nothing: bool = False
    handed: list[Delivery] = field(default_factory=list)
    received: dict[str, tuple[bytes, dict[str, str]]] = field(default_factory=dict)

    async def deliver(self, delivery: Delivery) -> Receipt:
        """Sign and 'send' `<wire>{body}</wire>`, or fail when told to."""
        self.handed.append(delivery)
        if not self.sends_nothing:
            wire = b"<wire>" + delivery.body + b"</wire>"
            assert delivery.sign is not None
            self.received[delivery.handoff_id] = (wire, delivery.sign(delivery.handoff_id, wire))
        if self.fail_with is not None:
            raise self.fail_with
        return Receipt(200, hashlib.sha256(b"ok").hexdigest(), agency_ref="W-1")

    async def aclose(self) -> None:
        """Nothing to release."""


def world_with(agency: WireSigningAgency | None = None) -> tuple[World, CountingSigner]:
    """A world whose city bureau signs with a counting signer (and is `agency`, if given)."""
    world, signer = World(), CountingSigner()
    world.dispatcher.signers = {**world.dispatcher.signers, CITY: signer}
    if agency is not None:
        world.connectors[CITY] = agency  # type: ignore[assignment]
    return world, signer


async def transfer_entry(world: World, event: str = "delivered") -> AuditRecord:
    """Take in an order, dispatch it; the `event` entry of its transfer to the city bureau."""
    order_id = (await world.accept(submitted())).order.id
    await world.dispatch()
    (transfer,) = await world.handoffs(order_id, HandoffKind.transfer)
    records = world.store.audit_records()
    return next(r for r in records if r.event == event and r.handoff_id == transfer.handoff.id)


async def test_a_connector_that_signs_what_it_sends_is_signed_once_per_delivery() -> None:
    agency = WireSigningAgency()
    world, signer = world_with(agency)
    entry = await transfer_entry(world)
    assert signer.signed[entry.handoff_id] == 1
    (handed,) = agency.handed
    assert "webhook-signature" not in handed.headers  # no signature of the JSON body


async def test_its_entry_names_the_signature_the_peer_got_and_the_digest_of_what_it_signed() -> (
    None
):
    agency = WireSigningAgency()
    world, _ = world_with(agency)
    entry = await transfer_entry(world)
    wire, headers = agency.received[entry.handoff_id]
    assert entry.signature == headers["webhook-signature"]
    assert json.loads(entry.detail)["wire_digest"] == hashlib.sha256(wire).hexdigest()
    assert entry.payload_digest == hashlib.sha256(agency.handed[0].body).hexdigest()


async def test_a_failed_attempt_names_the_signature_it_sent() -> None:
    agency = WireSigningAgency(fail_with=TransientDelivery("SOAP fault Server: busy"))
    world, signer = world_with(agency)
    entry = await transfer_entry(world, "failed")
    _, headers = agency.received[entry.handoff_id]
    assert entry.signature == headers["webhook-signature"]
    assert signer.signed[entry.handoff_id] == 1


async def test_a_delivery_that_sends_nothing_names_no_signature() -> None:
    world, signer = world_with(WireSigningAgency(sends_nothing=True))
    entry = await transfer_entry(world)
    assert entry.signature is None and "wire_digest" not in json.loads(entry.detail)
    assert signer.signed[entry.handoff_id] == 0


async def test_a_connector_that_sends_the_json_body_gets_it_signed_once_up_front() -> None:
    world, signer = world_with()
    entry = await transfer_entry(world)
    (sent,) = world.connectors[CITY].delivered
    assert signer.signed[entry.handoff_id] == 1
    assert entry.signature == sent.headers["webhook-signature"]
    assert "wire_digest" not in json.loads(entry.detail)
