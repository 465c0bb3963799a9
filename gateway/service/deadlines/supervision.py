"""督办 raised automatically when a deadline card calls for it (e.g. Foshan's red card).

In the transaction that fires the card: the order moves to `supervised` where the state
machine allows it, every agency working on it receives a `supervise` event over its own
transport (the same message a hotline-raised 督办 sends), the hotline platform receives a
status callback, and the audit trail records `supervised_automatically`. A matter the
hotline itself handles (transferred in by 110 or a board) has no agency to supervise: the
card's alert to the hotline is the notice.
"""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.domain.audit import AuditKind
from gateway.domain.errors import LianxinError
from gateway.domain.messages import HOTLINE, HotlineEvent
from gateway.domain.states import Actor, Status, check_transition
from gateway.domain.workorder import WorkOrder
from gateway.mapping.profiles import CardTier
from gateway.service.orders.transitions import OrderSteps
from gateway.service.ports.store import UnitOfWork, Watch

#: the party named in the audit trail for what a deadline policy does by itself
POLICY = "deadline-policy"


class AutoSupervision:
    """Raises 督办 for a fired card whose tier says `supervise = true`."""

    def __init__(self, steps: OrderSteps) -> None:
        self.steps = steps

    def __call__(
        self, uow: UnitOfWork, order: WorkOrder, watch: Watch, tier: CardTier, now: float
    ) -> None:
        """Supervise `order` because `tier`'s card of its `watch.kind` deadline fired."""
        when = datetime.fromtimestamp(now, UTC)
        reason = f"{tier.name}（{tier.tier}）：{watch.kind} deadline, automatic 督办 by policy"
        detail = {"card": tier.name, "tier": tier.tier, "deadline": watch.kind}
        if order.origin != HOTLINE:  # the hotline handles it: the alert is its notice
            self.steps.record(uow, AuditKind.supervised_automatically, order, POLICY, detail)
            return
        previous = order.status
        if _may_supervise(order.status):
            moved = {**detail, "event": "supervise", "automatic": True}
            order = self.steps.move(
                uow, order, Status.supervised, Actor.hotline, reason, POLICY, moved, tell=True
            )
        notice = HotlineEvent(
            type="supervise",
            event_id=f"auto-{watch.kind}-{tier.colour}-{int(watch.due_at)}",
            occurred_at=when,
            reason=reason,
        )
        self.steps.notify_agencies(uow, order, notice)
        facts = {**detail, "status_from": previous.value, "status": order.status.value}
        self.steps.record(uow, AuditKind.supervised_automatically, order, POLICY, facts)


def _may_supervise(status: Status) -> bool:
    try:
        check_transition(status, Status.supervised, Actor.hotline, "automatic")
    except LianxinError:
        return False
    return True
