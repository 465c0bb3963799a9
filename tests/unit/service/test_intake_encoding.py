"""What intake signs and hashes is byte for byte what it was before it dumped an order once.

Intake now dumps a new order once and makes its stored document, its transfers and the
`received` entry's digest of that one dump. Each test here spells out the earlier way
(a dump per use, json's canonical text) and compares.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from pydantic import ValidationError

from gateway.domain.assignments import Assignment, Role
from gateway.domain.messages import HOTLINE, HandoffKind
from gateway.domain.workorder import Coordinates, WorkOrder
from gateway.mapping.routing import Route
from gateway.service.audit import digest
from gateway.service.delivery import envelopes
from gateway.service.delivery.outbox import encode
from gateway.service.json_codec import reference_canonical_json
from gateway.service.orders.intake import _new_order
from tests.unit.service.world import World, directory, submitted

EMERGENCY = {
    "category": "help",
    "urgency": "emergency",
    "matter_code": "EM-SMOKE",
    "title": "居民楼楼道冒烟",
    "content": "来电人称三楼楼道冒烟，有焦糊味。",
    "location": {
        "address": "广州市越秀区东风中路100号3楼",
        "division_code": "440104",
        "coordinates": {"longitude": 113.2665, "latitude": 0.00001, "datum": "GCJ02"},
    },
    "caller": {"name": "陈女士", "phone": "13800138000", "id_number": "44010419900101123X"},
    "route_to": None,
}
ORDERS: dict[str, dict[str, Any]] = {
    "one agency": {},
    "lead and assisting": {"route_to": ["city-management", "tax-12366"]},
    "catalogue, emergency, floats": EMERGENCY,
    "partner ids and attachments": {
        "partner_ids": {"police-110": "JJ-1"},
        "attachments": [{"name": "图.jpg", "size": 12, "sha256": "a" * 64}],
        "due": {"reply_by": "2026-12-01T18:00:00+08:00"},
    },
}


@pytest.mark.parametrize("changes", ORDERS.values(), ids=ORDERS.keys())
async def test_each_transfer_body_is_the_one_a_dump_of_its_own_made(
    changes: dict[str, Any],
) -> None:
    world = World()
    result = await world.accept(submitted(**changes))
    stored = (await world.order(result.order.id)).order
    (entry,) = [r for r in world.store.audit_records() if r.order_id == stored.id]
    routed = json.loads(entry.detail)["routed"]
    for view in await world.handoffs(stored.id, HandoffKind.transfer):
        handoff = view.handoff
        profile = directory().profile(handoff.agency)
        if profile.field_encryption is not None:
            continue  # a fresh nonce per encryption: not comparable byte for byte
        payload = envelopes.transfer(
            stored,
            profile,
            lead=handoff.agency == stored.lead_agency,
            rule=routed["rule"],
            catalogue=routed["catalogue"],
        )
        assert handoff.body == encode({"id": handoff.id, **payload})
        assert handoff.body_digest == digest(handoff.body)


@pytest.mark.parametrize("changes", ORDERS.values(), ids=ORDERS.keys())
async def test_the_received_digest_is_json_canonical_text_of_the_order_before_assignments(
    changes: dict[str, Any],
) -> None:
    world = World()
    result = await world.accept(submitted(**changes))
    stored = (await world.order(result.order.id)).order
    assert stored.assignments  # the digest covers the order as routed, before them
    routed = stored.model_copy(update={"assignments": []})
    (entry,) = [r for r in world.store.audit_records() if r.order_id == stored.id]
    assert entry.payload_digest == digest(reference_canonical_json(routed.model_dump(mode="json")))


async def test_the_stored_document_is_the_orders_dump() -> None:
    """The memory store refuses a document that is not the order's dump (tests/fakes)."""
    world = World()
    result = await world.accept(submitted(**EMERGENCY))
    stored = (await world.order(result.order.id)).order
    assert stored == result.order


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_an_order_cannot_hold_a_float_that_is_not_finite(value: float) -> None:
    """Why the order's digest may take orjson's `null` for None (`finite=True`)."""
    with pytest.raises(ValidationError):
        Coordinates(longitude=value, latitude=1.0)
    with pytest.raises(ValidationError):
        Coordinates(longitude=1.0, latitude=value)


@pytest.mark.parametrize("changes", ORDERS.values(), ids=ORDERS.keys())
def test_a_new_order_is_the_one_validated_from_the_submissions_dump(
    changes: dict[str, Any],
) -> None:
    """Its values are handed over as they are (nested models not validated again)."""
    given = submitted(**changes)
    chosen = Route(("city-management", "tax-12366"), "r1", "2026.1")
    opened = [
        Assignment(agency="city-management", role=Role.lead, generation=1, transfer_id="msg_1"),
        Assignment(agency="tax-12366", role=Role.assisting, generation=1, transfer_id="msg_2"),
    ]
    order = _new_order(given, chosen, opened)
    dumped = WorkOrder(
        **given.model_dump(exclude={"partner_ids"}),
        partner_ids={**given.partner_ids, HOTLINE: given.flow_id},
        id=order.id,
        lead_agency="city-management",
        assisting_agencies=["tax-12366"],
        assignments=[assignment.model_dump() for assignment in opened],
    )
    assert order == dumped
    assert order.model_dump(mode="json") == dumped.model_dump(mode="json")
