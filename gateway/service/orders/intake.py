"""Intake: a hotline work order becomes a stored order, routed handoffs and audit entries.

Everything one intake writes commits in one transaction. Intake is idempotent on the
hotline's flow id and revision: the same revision again returns what was stored; a
newer revision is a supplement sent on to the agencies; an older one is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway.domain.assignments import Assignment, Role
from gateway.domain.audit import AuditEvent, AuditKind
from gateway.domain.errors import IllegalTransition, OrderClosed, RevisionConflict
from gateway.domain.ids import new_id
from gateway.domain.messages import HOTLINE, Handoff, HandoffKind, HotlineEvent
from gateway.domain.states import TERMINAL
from gateway.domain.workorder import Urgency, WorkOrder, WorkOrderIn
from gateway.mapping.routing import Route, route
from gateway.service.audit import canonical_json, digest
from gateway.service.deadlines.setting import DeadlineSetter
from gateway.service.deadlines.watch import emergency_watch
from gateway.service.delivery import envelopes
from gateway.service.delivery.outbox import enqueue, mapped_detail, noting_lanes
from gateway.service.directory import Directory
from gateway.service.log_context import bind
from gateway.service.orders import assignments
from gateway.service.orders.received_time import check_received_at
from gateway.service.ports.store import Store, UnitOfWork
from gateway.service.ports.transport import WakeUp

log = logging.getLogger("lianxin.intake")


@dataclass(frozen=True)
class IntakeResult:
    """The stored order, and whether this call created or changed it."""

    order: WorkOrder
    created: bool
    handoff_ids: tuple[str, ...] = ()


class Intake:
    """Accepts work orders from the hotline platform."""

    def __init__(
        self,
        store: Store,
        directory: Directory,
        deadlines: DeadlineSetter,
        wake: WakeUp,
        clock: Callable[[], float],
    ) -> None:
        self.store = store
        self.directory = directory
        self.deadlines = deadlines
        self.wake = wake
        self.clock = clock

    async def submit(self, submitted: WorkOrderIn) -> IntakeResult:
        """Store, route and queue `submitted` in one unit of work (an emergency ahead of
        any backlog), then wake the lanes it queued handoffs in, and no other (transfers,
        supplements, a calendar alert: `outbox.lanes_queued`). A refusal (a LianxinError)
        leaves nothing written and reaches the caller, which answers it."""
        urgent = submitted.urgency == Urgency.emergency
        result, lanes = await self.store.write(
            noting_lanes(lambda uow: self.accept(uow, submitted)),
            urgent=urgent,
            looks_up=(HOTLINE, submitted.flow_id),  # what `accept` finds first
        )
        self.wake(*lanes)
        return result

    def accept(self, uow: UnitOfWork, submitted: WorkOrderIn) -> IntakeResult:
        """Store, route and enqueue `submitted` (runs inside one unit of work)."""
        bind(flow_id=submitted.flow_id)  # for lines logged in this unit of work
        check_received_at(submitted.received_at, self.clock())
        stored = uow.orders.find(HOTLINE, submitted.flow_id)
        if stored is None:
            return self._create(uow, submitted)
        current = stored.order
        bind(order_id=current.id)
        if submitted.revision == current.revision:
            return IntakeResult(current, created=False)
        if current.status in TERMINAL:
            raise OrderClosed(
                f"order {current.id} is {current.status.value}: it takes no new revision",
                order_id=current.id,
                status=current.status.value,
            )
        if submitted.route_to and submitted.route_to[0] != current.lead_agency:
            raise IllegalTransition(
                f"revision {submitted.revision} names another lead agency; a 改派 is the "
                "'reassign' event (POST /v1/work-orders/{id}/events), with a reason",
                order_id=current.id,
                lead_agency=current.lead_agency,
            )
        if submitted.revision < current.revision:
            raise RevisionConflict(
                f"revision {submitted.revision} is older than stored revision {current.revision}",
                flow_id=submitted.flow_id,
                stored_revision=current.revision,
            )
        return self._supplement(uow, current, submitted)

    def _create(self, uow: UnitOfWork, submitted: WorkOrderIn) -> IntakeResult:
        now = self.clock()
        chosen = route(submitted, self.directory.catalogue, self.directory.agency_ids)
        ids = [new_id("msg") for _ in chosen.agencies]
        order = _new_order(submitted, chosen, _opened(chosen, ids, now))
        policy = self.deadlines.policy_for(order)
        bind(order_id=order.id)
        order, deadlines_entry = self.deadlines.fill(order, policy)
        # dumped once: the stored document, the transfers and the digest are all made of it
        document = order.model_dump(mode="json")
        uow.orders.add(order, now, document)
        queued = [
            self._transfer(uow, order, document, chosen, agency, handoff_id, now)
            for agency, handoff_id in zip(chosen.agencies, ids, strict=True)
        ]
        received = _received_detail(order, chosen, deadlines_entry)
        received["handoffs"] = [mapped_detail(handoff) for handoff in queued]
        uow.audit.append(
            AuditEvent(
                AuditKind.received,
                order_id=order.id,
                party=HOTLINE,
                payload_digest=_received_digest(document),
                detail=received,
            )
        )
        emergencies = [
            emergency_watch(order.id, agency, emergency.acknowledge_seconds, now)
            for agency in chosen.agencies
            if (emergency := self.directory.profile(agency).emergency) is not None
        ]
        self.deadlines.watch(uow, order, policy, deadlines_entry, now, *emergencies)
        return _queued(order, queued)

    def _transfer(
        self,
        uow: UnitOfWork,
        order: WorkOrder,
        document: dict[str, Any],
        chosen: Route,
        agency: str,
        handoff_id: str,
        now: float,
    ) -> Handoff:
        """Queue the transfer `handoff_id` to `agency`, unaudited: the intake's `received`
        entry names it. `document` is the order's JSON dump."""
        profile = self.directory.profile(agency)
        payload = envelopes.transfer(
            order,
            profile,
            lead=agency == chosen.lead,
            rule=chosen.rule_id,
            catalogue=chosen.catalogue_version,
            cipher=self.directory.cipher_for(agency),
            document=document,
        )
        kind = HandoffKind.transfer
        return enqueue(uow, order, profile, kind, payload, now, handoff_id, audited=False)

    def _supplement(
        self, uow: UnitOfWork, current: WorkOrder, submitted: WorkOrderIn
    ) -> IntakeResult:
        now = self.clock()
        changes = submitted.model_dump(exclude={"route_to", "due", "partner_ids"})
        given_due = submitted.due.model_dump(exclude_none=True)
        order = WorkOrder.model_validate(
            {
                **current.model_dump(),
                **changes,
                "due": {**current.due.model_dump(), **given_due},
                "partner_ids": {**current.partner_ids, **submitted.partner_ids},
            }
        )
        uow.orders.replace(order)
        note = HotlineEvent(
            type="supplement",
            event_id=f"revision-{order.revision}",
            occurred_at=submitted.received_at,
            note=f"revision {order.revision}",
        )
        queued = []
        for agency in [order.lead_agency, *order.assisting_agencies]:
            if agency:
                profile = self.directory.profile(agency)
                payload = envelopes.event(order, profile, note, self.directory.cipher_for(agency))
                kind = HandoffKind.event
                queued.append(enqueue(uow, order, profile, kind, payload, now, audited=False))
        uow.audit.append(
            AuditEvent(
                AuditKind.supplemented,
                order_id=order.id,
                party=HOTLINE,
                payload_digest=_digest(order),
                detail={
                    "revision": order.revision,
                    "previous_revision": current.revision,
                    "handoffs": [mapped_detail(handoff) for handoff in queued],
                },
            )
        )
        return _queued(order, queued)


def _received_detail(
    order: WorkOrder, chosen: Route, deadlines: AuditEvent | None
) -> dict[str, Any]:
    """What the `received` entry says besides the handoffs: the revision, the routing and
    the deadlines set (what were the `routed` and `deadlines_set` entries)."""
    routing = {
        "agencies": list(chosen.agencies),
        "rule": chosen.rule_id,
        "catalogue": chosen.catalogue_version,
    }
    return {
        "flow_id": order.flow_id,
        "revision": order.revision,
        "routed": routing,
        "deadlines_set": None if deadlines is None else deadlines.detail,
    }


def _new_order(submitted: WorkOrderIn, chosen: Route, opened: list[Assignment]) -> WorkOrder:
    """The order to store, routed: the submission, a new id, the hotline's flow id among
    the partner ids, the lead and the assisting agencies and their `opened` assignments
    (given here, not copied in after: a copy of the order costs). Its values are handed over
    as they are, nested models included, which pydantic takes without validating them
    again (a dump made them dicts to validate anew: twice the cost). `model_construct`
    would cost as much here: pydantic 2.14 inspects a default factory on every call."""
    return WorkOrder(
        **{
            **vars(submitted),
            "partner_ids": {**submitted.partner_ids, HOTLINE: submitted.flow_id},
        },
        id=new_id("wo"),
        lead_agency=chosen.lead,
        assisting_agencies=list(chosen.agencies[1:]),
        assignments=opened,
    )


def _opened(chosen: Route, ids: list[str], now: float) -> list[Assignment]:
    """Each routed agency's first assignment, opened by the transfer of the same place in
    `ids`; the lead's waits for the assisting agencies' replies where the rule says so."""
    parts = [
        assignments.opened(agency, _role(agency, chosen.lead), 1, handoff_id, now)
        for agency, handoff_id in zip(chosen.agencies, ids, strict=True)
    ]
    if chosen.lead_waits_for_assisting and len(parts) > 1:
        parts[0] = parts[0].model_copy(update={"waits_for_assisting": True})
    return parts


def _queued(order: WorkOrder, queued: list[Handoff]) -> IntakeResult:
    """What an intake that changed `order` and queued `queued` answers: the handoffs' ids,
    in the order queued."""
    return IntakeResult(order, True, tuple(handoff.id for handoff in queued))


def _role(agency: str, lead: str | None) -> Role:
    return Role.lead if agency == lead else Role.assisting


def _digest(order: WorkOrder) -> str:
    return digest(canonical_json(order.model_dump(mode="json")))


def _received_digest(document: dict[str, Any]) -> str:
    """The `received` entry's digest of a new order's JSON dump: of the order as routed,
    before its assignments were opened (what it has always covered). A validated order
    holds no NaN nor infinity (its only floats are bounded coordinates)."""
    return digest(canonical_json({**document, "assignments": []}, finite=True))
