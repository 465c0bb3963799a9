"""Small builders the contract tests share: an order, a handoff, adding and claiming."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gateway.domain.messages import Handoff, HandoffKind, Lane
from gateway.domain.workorder import Caller, Category, WorkOrder
from gateway.service.ports.store import Store, UnitOfWork


def work_order(flow_id: str = "GZ-1", **changes: Any) -> WorkOrder:
    """A hotline complaint with a caller, led by `city`, changed where asked."""
    fields: dict[str, Any] = {
        "id": f"wo_{flow_id}",
        "flow_id": flow_id,
        "acceptance_no": f"SL-{flow_id}",
        "category": Category.complaint,
        "title": "夜间施工噪音",
        "content": "工地夜间施工，噪音扰民。",
        "caller": Caller(name="李先生", phone="13900001111"),
        "received_at": datetime(2026, 11, 24, 8, 5, tzinfo=UTC),
        "lead_agency": "city",
    }
    return WorkOrder(**{**fields, **changes})


def handoff(
    n: int, order: str = "wo_1", agency: str = "tax", lane: Lane = Lane.normal, at: float = 0.0
) -> Handoff:
    """Transfer `msg_{n}` of an order to an agency, due (and created) at `at`."""
    return Handoff(
        id=f"msg_{n}",
        order_id=order,
        agency=agency,
        kind=HandoffKind.transfer,
        lane=lane,
        body=b'{"n":%d}' % n,
        body_digest="0" * 64,
        next_attempt_at=at,
        created_at=at,
    )


async def add(store: Store, *handoffs: Handoff) -> None:
    """Add handoffs in one unit of work."""

    def write(uow: UnitOfWork) -> None:
        for one in handoffs:
            uow.handoffs.add(one)

    await store.write(write)


#: the claim token of each handoff's newest claim by `claim` (outcomes are fenced by it)
TOKENS: dict[str, str] = {}


async def claim(
    store: Store, now: float = 10.0, quotas: dict[str, int] | None = None, lease: float = 60.0
) -> list[str]:
    """Claim on the normal lane as node-a; the ids claimed, in claim order."""
    wanted = quotas or {"tax": 10, "city": 10}
    claimed = await store.write(
        lambda uow: uow.handoffs.claim(now, wanted, Lane.normal, now + lease, "node-a"),
        audited=False,
    )
    TOKENS.update({one.id: one.claim for one in claimed if one.claim})
    return [one.id for one in claimed]
