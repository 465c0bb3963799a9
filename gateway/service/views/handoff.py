"""Read model of one handoff for the admin console: its state, its audit steps, its payload.

The payload is shown as the agency received it, with personal data masked: the caller's
own name, phone and ID number wherever they appear (the agency's field names differ from
ours, so the values are looked for, not the fields), then any other phone or ID number.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from gateway.domain.audit import AuditRecord
from gateway.domain.errors import UnknownOrder
from gateway.domain.personal import PERSONAL_FIELDS, mask_caller, mask_strings, mask_text
from gateway.service.ports.queries import HandoffView
from gateway.service.ports.store import UnitOfWork

PAYLOAD_LIMIT = 64_000  # characters shown; a larger body is cut (it is still stored whole)


@dataclass(frozen=True)
class AuditStep:
    """One audit entry as the console shows it."""

    seq: int
    at: float
    event: str
    party: str | None
    handoff_id: str | None
    detail: Any


@dataclass(frozen=True)
class HandoffTimeline:
    """A handoff, the work order it carries, the order's audit steps and the masked payload."""

    view: HandoffView
    order_id: str
    title: str
    order_status: str
    steps: list[AuditStep]
    payload: str
    payload_format: str  # json | text


def handoff_timeline(uow: UnitOfWork, order_id: str, handoff_id: str) -> HandoffTimeline:
    """The timeline of `handoff_id` of `order_id`; UnknownOrder (404) when either is not there."""
    view = next(
        (v for v in uow.handoff_queries.for_order(order_id) if v.handoff.id == handoff_id), None
    )
    if view is None:
        raise UnknownOrder(f"no handoff '{handoff_id}' of '{order_id}'", order_id=order_id)
    # not every handoff carries a work order: alerts about an agency go under "agency:<id>"
    stored = uow.orders.get(order_id)
    order = stored.order if stored is not None else None
    caller = order.caller.model_dump(mode="json") if order and order.caller else {}
    payload, form = masked_payload(view.handoff.body, _personal_values(caller))
    return HandoffTimeline(
        view=view,
        order_id=order_id,
        title=mask_text(order.title) if order else f"{view.handoff.kind} · {order_id}",
        order_status=str(order.status) if order else "—",
        steps=[_step(record) for record in uow.audit.for_order(order_id)],
        payload=payload,
        payload_format=form,
    )


def masked_payload(body: bytes, secrets: dict[str, str]) -> tuple[str, str]:
    """The body as text with `secrets` (value → masked value) and phone/ID numbers masked."""
    text = body.decode("utf-8", errors="replace")
    try:
        document = json.loads(text)
    except ValueError:
        return _mask(text, secrets)[:PAYLOAD_LIMIT], "text"
    masked = _walk(document, secrets)
    return json.dumps(masked, ensure_ascii=False, indent=2)[:PAYLOAD_LIMIT], "json"


def _personal_values(caller: dict[str, Any]) -> dict[str, str]:
    masked = mask_caller(caller) or {}
    pairs = {str(caller[f]): str(masked[f]) for f in PERSONAL_FIELDS if caller.get(f)}
    # longest first, so a name inside a longer value is not masked twice
    return dict(sorted(pairs.items(), key=lambda pair: -len(pair[0])))


def _mask(text: str, secrets: dict[str, str]) -> str:
    for plain, masked in secrets.items():
        text = text.replace(plain, masked)
    return mask_text(text)


def _walk(value: Any, secrets: dict[str, str]) -> Any:
    if isinstance(value, str):
        return _mask(value, secrets)
    if isinstance(value, dict):
        return {key: _walk(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_walk(item, secrets) for item in value]
    return value


def _step(record: AuditRecord) -> AuditStep:
    return AuditStep(
        seq=record.seq,
        at=record.at_us / 1e6,
        event=record.event,
        party=record.party,
        handoff_id=record.handoff_id,
        detail=mask_strings(json.loads(record.detail)),
    )
