"""Deadline watch: the jurisdiction's cards (the Foshan practice) and emergency escalations.

Each deadline becomes watches when it is set (the store keeps an order's in one row), one
per card of the policy (gateway/service/deadlines/cards.py): a warning before the
deadline, overdue at it, seriously overdue some working days after it, each with the
city's name and colour; and for a 119/120 handoff an escalation when the agency has not
answered within its acknowledgement deadline. The watch loop fires what is due, once
(watches are marked fired in the same transaction that queues the alert), so several
processes can run it side by side. A card whose tier says so raises 督办 in that
transaction (gateway/service/deadlines/supervision.py). An answer settles the watches:
signing for an order settles its sign-for cards, closing it settles everything, any
message from an emergency agency settles its escalation. An approved extension (延期)
re-arms the resolve cards at the new deadline.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from gateway.domain.states import Status
from gateway.domain.workorder import WorkOrder
from gateway.mapping.profiles import CardTier, DeadlinePolicy
from gateway.service.deadlines.cards import plan_cards, tier_named
from gateway.service.delivery.outbox import noting_lanes
from gateway.service.directory import Directory
from gateway.service.operations.alerts import raise_alert
from gateway.service.ports.calendar import WorkdayCalendar
from gateway.service.ports.store import Store, UnitOfWork, Watch
from gateway.service.ports.transport import WakeUp

log = logging.getLogger("lianxin.watch")

#: what a card that calls for 督办 does, in the transaction that fires it
Supervision = Callable[[UnitOfWork, WorkOrder, Watch, CardTier, float], None]
EMERGENCY_ACK = "emergency_ack"
KIND_WORDS = {"acknowledge": "sign-for (签收)", "resolve": "resolve (办结)"}
CARD_MEANINGS = {
    "warning": "the {kind} deadline is near",
    "overdue": "the {kind} deadline has passed",
    "seriously_overdue": "the {kind} deadline has long passed: seriously overdue",
}
CLOSING = frozenset({Status.resolved, Status.revisited, Status.archived, Status.cancelled})
ALL_KINDS = ("acknowledge", "resolve", EMERGENCY_ACK)


def arm_deadlines(
    uow: UnitOfWork,
    order: WorkOrder,
    policy: DeadlinePolicy | None,
    now: float,
    calendar: WorkdayCalendar,
    *also: Watch,
) -> None:
    """Arm the policy's cards of the order's sign-for and resolve deadlines, and the
    watches `also` given (in one write: a new order's watches are one row)."""
    armed: list[Watch] = []
    for kind, due in (("acknowledge", order.due.acknowledge_by), ("resolve", order.due.resolve_by)):
        if due is not None:
            armed += plan_cards(order.id, kind, order.received_at, due, policy, calendar, now)
    uow.watches.arm(*armed, *also)


def emergency_watch(order_id: str, agency: str, seconds: int, now: float) -> Watch:
    """An escalation unless `agency` answers within `seconds`."""
    return Watch(order_id, EMERGENCY_ACK, "escalation", now + seconds, agency)


def settle_on(uow: UnitOfWork, order_id: str, status: Status) -> None:
    """Settle what reaching `status` answers."""
    if status == Status.signed:
        uow.watches.settle(order_id, ["acknowledge"])
    elif status in CLOSING:
        uow.watches.settle(order_id, ALL_KINDS)


def answered_by(uow: UnitOfWork, order_id: str, agency: str) -> None:
    """Any message from an agency answers its emergency acknowledgement deadline."""
    uow.watches.settle(order_id, [EMERGENCY_ACK], agency)


class DeadlineWatch:
    """Fires due watches as alerts, every `interval` seconds."""

    def __init__(
        self,
        store: Store,
        directory: Directory,
        wake: WakeUp,
        clock: Callable[[], float],
        interval: float = 1.0,
        supervise: Supervision | None = None,
    ) -> None:
        self.store = store
        self.directory = directory
        self.wake = wake
        self.clock = clock
        self.interval = interval
        self.supervise = supervise

    async def run(self) -> None:
        """Tick until cancelled; a failing tick is logged and tried again."""
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("the deadline watch failed; trying again")
            await asyncio.sleep(self.interval)

    async def tick(self) -> int:
        """Fire every watch due now, then wake the lanes their alerts (and any 督办) were
        queued in, and no other; the number fired."""
        now = self.clock()
        fired, lanes = await self.store.write(
            noting_lanes(lambda uow: self._fire_due(uow, now)), urgent=True
        )
        self.wake(*lanes)
        return fired

    def _fire_due(self, uow: UnitOfWork, now: float) -> int:
        fired = 0
        while batch := uow.watches.fire_due(now, 200):
            for watch in batch:
                fired += self._fire(uow, watch, now)
        return fired

    def _fire(self, uow: UnitOfWork, watch: Watch, now: float) -> int:
        stored = uow.orders.get(watch.order_id)
        if stored is None:
            return 0
        order = stored.order
        detail = {"due_at": _iso(watch.due_at), "late_by_s": round(now - watch.due_at, 1)}
        if watch.kind == EMERGENCY_ACK:
            alert = "emergency_unacknowledged"
            raise_alert(uow, self.directory, order, alert, now, agency=watch.agency, detail=detail)
        else:
            alert = f"{watch.kind}_{watch.level}"
            self._card(uow, order, watch, alert, detail, now)
        log.warning("alert %s for order %s (%s)", alert, watch.order_id, watch.agency or "order")
        return 1

    def _card(
        self,
        uow: UnitOfWork,
        order: WorkOrder,
        watch: Watch,
        alert: str,
        detail: dict[str, object],
        now: float,
    ) -> None:
        """A deadline card: its tier, name and colour from the policy; 督办 if it calls for it."""
        policy = self.directory.deadline_policy(
            order.location.division_code if order.location else None
        )
        tier = tier_named(policy, watch.level)
        if tier is None:  # the policy changed since the card was armed
            meaning = f"a {watch.level} card the current policy no longer names"
            raise_alert(uow, self.directory, order, alert, now, detail=detail, meaning=meaning)
            return
        facts = {**detail, "tier": tier.tier, "card": tier.name, "colour": tier.colour}
        supervise = tier.supervise and self.supervise is not None
        raise_alert(
            uow,
            self.directory,
            order,
            alert,
            now,
            detail={**facts, "supervision": supervise},
            level=tier.colour,
            meaning=CARD_MEANINGS[tier.tier].format(kind=KIND_WORDS[watch.kind]),
        )
        if supervise and self.supervise is not None:
            self.supervise(uow, order, watch, tier, now)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()
