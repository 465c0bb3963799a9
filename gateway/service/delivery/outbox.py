"""Write handoffs into the outbox: fixed body, digest and idempotency id, audited."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from gateway.domain.audit import AuditEvent, AuditKind
from gateway.domain.ids import new_id
from gateway.domain.messages import Handoff, HandoffKind, Lane
from gateway.domain.workorder import Urgency, WorkOrder
from gateway.mapping.profiles import AgencyProfile
from gateway.service.audit import digest
from gateway.service.json_codec import compact_json
from gateway.service.ports.store import UnitOfWork

T = TypeVar("T")


def encode(payload: dict[str, Any]) -> bytes:
    """The wire form of a JSON payload: compact UTF-8 (Chinese text stays readable)."""
    return compact_json(payload)


def lane_for(order: WorkOrder, profile: AgencyProfile) -> Lane:
    """Emergency orders and emergency agencies (119/120) use the emergency lane."""
    if order.urgency == Urgency.emergency or profile.lane == Lane.emergency:
        return Lane.emergency
    return Lane.normal


def enqueue(
    uow: UnitOfWork,
    order: WorkOrder,
    profile: AgencyProfile,
    kind: HandoffKind,
    payload: dict[str, Any],
    now: float,
    handoff_id: str | None = None,
    audited: bool = True,
) -> Handoff:
    """Add one handoff for `profile` carrying `payload`, with its audit entry, to `uow`
    (`handoff_id` when the caller had to know it first, e.g. for an assignment). With
    `audited` False the caller names it (`mapped_detail`) in its own entry instead."""
    lane = lane_for(order, profile)
    return enqueue_about(uow, order.id, lane, profile, kind, payload, now, handoff_id, audited)


def enqueue_about(
    uow: UnitOfWork,
    subject: str,
    lane: Lane,
    profile: AgencyProfile,
    kind: HandoffKind,
    payload: dict[str, Any],
    now: float,
    handoff_id: str | None = None,
    audited: bool = True,
) -> Handoff:
    """Like `enqueue`, for a `subject` that need not be an order (e.g. an agency's alerts:
    handoffs of one subject to one agency go out in order)."""
    handoff_id = handoff_id or new_id("msg")
    body = encode({"id": handoff_id, **payload})
    handoff = Handoff(
        id=handoff_id,
        order_id=subject,
        agency=profile.id,
        kind=kind,
        lane=lane,
        body=body,
        body_digest=digest(body),
        next_attempt_at=now,
        created_at=now,
    )
    uow.handoffs.add(handoff)
    if audited:
        uow.audit.append(
            AuditEvent(
                AuditKind.mapped,
                order_id=subject,
                handoff_id=handoff_id,
                party=profile.id,
                payload_digest=handoff.body_digest,
                detail={"kind": kind.value, "lane": handoff.lane.value, "bytes": len(body)},
            )
        )
    return handoff


def lanes_queued(uow: UnitOfWork, work: Callable[[UnitOfWork], T]) -> tuple[T, frozenset[Lane]]:
    """`work(uow)`, and the lanes of the handoffs it queued: the lanes its caller wakes
    once the unit has committed (only those: a lane woken for nothing runs a claim that
    finds nothing, a transaction of its own). Read from a mark, since a group commit runs
    several callers' work in one unit of work."""
    mark = len(uow.handoffs.queued_lanes)
    result = work(uow)
    return result, frozenset(uow.handoffs.queued_lanes[mark:])


def noting_lanes(
    work: Callable[[UnitOfWork], T],
) -> Callable[[UnitOfWork], tuple[T, frozenset[Lane]]]:
    """`work` as a unit of work that also answers the lanes it queued handoffs in (what
    `lanes_queued` answers), to hand to `Store.write`. It keeps `work`'s name, which the
    store's spans (`code.function`) and slow-transaction lines give."""

    @wraps(work)
    def noted(uow: UnitOfWork) -> tuple[T, frozenset[Lane]]:
        return lanes_queued(uow, work)

    return noted


def mapped_detail(handoff: Handoff) -> dict[str, Any]:
    """What an entry that queued `handoff` says of it (a `mapped` entry's content): its id,
    party, kind, lane, size and the digest of its body."""
    return {
        "handoff_id": handoff.id,
        "party": handoff.agency,
        "kind": handoff.kind.value,
        "lane": handoff.lane.value,
        "bytes": len(handoff.body),
        "payload_digest": handoff.body_digest,
    }
