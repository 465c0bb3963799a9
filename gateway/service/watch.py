"""Deadline watch: yellow and red cards (the Foshan practice) and emergency escalations.

Each deadline becomes rows in the `watches` table when it is set: a yellow card when
`yellow_at` of the allowed time is gone, a red card when it has passed, and for a 119/120
handoff an escalation when the agency has not answered within its acknowledgement
deadline. The watch loop fires what is due, once (rows are marked fired in the same
transaction that queues the alert), so several processes can run it side by side. An
answer settles the rows: signing for an order settles its sign-for cards, closing it
settles everything, any message from an emergency agency settles its escalation. An
approved extension (延期) re-arms the resolve cards at the new deadline.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from gateway.domain.states import Status
from gateway.domain.workorder import WorkOrder
from gateway.mapping.profiles import DeadlinePolicy
from gateway.service.alerts import raise_alert
from gateway.service.directory import Directory
from gateway.service.ports import Store, UnitOfWork, Watch

log = logging.getLogger("lianxin.watch")

DEFAULT_YELLOW_AT = 0.8  # when no jurisdiction policy applies
EMERGENCY_ACK = "emergency_ack"
CLOSING = frozenset({Status.resolved, Status.revisited, Status.archived, Status.cancelled})
ALL_KINDS = ("acknowledge", "resolve", EMERGENCY_ACK)


def arm_deadlines(
    uow: UnitOfWork, order: WorkOrder, policy: DeadlinePolicy | None, now: float
) -> None:
    """Arm the yellow and red cards of the order's sign-for and resolve deadlines."""
    yellow_at = policy.yellow_at if policy else DEFAULT_YELLOW_AT
    start = order.received_at.timestamp()
    armed: list[Watch] = []
    for kind, due in (("acknowledge", order.due.acknowledge_by), ("resolve", order.due.resolve_by)):
        if due is not None:
            armed += cards(order.id, kind, start, due.timestamp(), yellow_at, now)
    uow.watches.arm(*armed)


def arm_cards(
    uow: UnitOfWork,
    order_id: str,
    kind: str,
    start: float,
    end: float,
    yellow_at: float,
    now: float,
) -> None:
    """Arm the cards of one deadline (see `cards`)."""
    uow.watches.arm(*cards(order_id, kind, start, end, yellow_at, now))


def cards(
    order_id: str, kind: str, start: float, end: float, yellow_at: float, now: float
) -> list[Watch]:
    """A red card at `end`; a yellow one before it, unless the order is already overdue."""
    red = Watch(order_id, kind, "red", end)
    if now >= end:
        return [red]
    return [red, Watch(order_id, kind, "yellow", start + (end - start) * yellow_at)]


def arm_emergency(uow: UnitOfWork, order_id: str, agency: str, seconds: int, now: float) -> None:
    """An escalation unless `agency` answers within `seconds`."""
    uow.watches.arm(Watch(order_id, EMERGENCY_ACK, "escalation", now + seconds, agency))


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
        wake: Callable[[], None],
        clock: Callable[[], float],
        interval: float = 1.0,
    ) -> None:
        self.store = store
        self.directory = directory
        self.wake = wake
        self.clock = clock
        self.interval = interval

    async def run(self) -> None:
        """Tick until cancelled; a failing tick is logged and tried again."""
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("the deadline watch failed; trying again")
            await asyncio.sleep(self.interval)

    async def tick(self) -> int:
        """Fire every watch due now; the number fired."""
        now = self.clock()
        fired = await self.store.write(lambda uow: self._fire_due(uow, now), urgent=True)
        if fired:
            self.wake()
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
        alert = "emergency_unacknowledged" if watch.kind == EMERGENCY_ACK else None
        alert = alert or f"{watch.kind}_{watch.level}"
        detail = {"due_at": _iso(watch.due_at), "late_by_s": round(now - watch.due_at, 1)}
        raise_alert(
            uow,
            self.directory,
            stored.order,
            alert,
            now,
            agency=watch.agency or None,
            detail=detail,
        )
        log.warning("alert %s for order %s (%s)", alert, watch.order_id, watch.agency or "order")
        return 1


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()
