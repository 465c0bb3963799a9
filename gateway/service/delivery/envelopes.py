"""The JSON messages Lianxin sends: transfers and events to agencies, status to the hotline."""

from __future__ import annotations

from typing import Any

from gateway.domain.errors import ConfigError
from gateway.domain.messages import HotlineEvent
from gateway.domain.states import Status
from gateway.domain.workorder import WorkOrder
from gateway.mapping.payload import render
from gateway.mapping.profiles import AgencyProfile
from gateway.service.field_encryption import encrypt_fields
from gateway.service.ports.crypto import FieldCipher


def _ids(order: WorkOrder) -> dict[str, Any]:
    return {
        "order_id": order.id,
        "flow_id": order.flow_id,
        "acceptance_no": order.acceptance_no,
        "partner_ids": order.partner_ids,
    }


def transfer(
    order: WorkOrder,
    profile: AgencyProfile,
    *,
    lead: bool,
    rule: str,
    catalogue: str,
    cipher: FieldCipher | None = None,
    generation: int = 1,
    instructions: str | None = None,
    document: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A work order handed to an agency, in the shape its profile asks for. `generation`
    names the assignment (agencies may echo it in their updates); `instructions` are the
    hotline's words with a 重办 or 改派; `document` is the order's JSON dump when the
    caller has made it (it is read, not changed)."""
    body = {
        "type": "work_order.transfer",
        **_ids(order),
        "role": "lead" if lead else "assist",
        "assignment": {"generation": generation},
        "routing": {"catalogue": catalogue, "rule": rule},
        "work_order": _rendered(order, profile, cipher, document),
    }
    if instructions:
        body["instructions"] = instructions
    return body


#: what of an order an agency is not sent: the operator's routing, the assignments
NOT_SENT = {"route_to", "assignments"}


def sent_fields(order: WorkOrder, document: dict[str, Any] | None = None) -> dict[str, Any]:
    """The order's JSON fields an agency is sent, in the model's order (from `document`,
    the order's JSON dump, when given)."""
    if document is None:
        return order.model_dump(mode="json", exclude=NOT_SENT)
    return {name: value for name, value in document.items() if name not in NOT_SENT}


def _rendered(
    order: WorkOrder,
    profile: AgencyProfile,
    cipher: FieldCipher | None,
    document: dict[str, Any] | None = None,
) -> Any:
    """The order as the agency's profile shapes it, its protected fields encrypted."""
    shaped = render(profile, sent_fields(order, document))
    protected = profile.field_encryption
    if protected is None:
        return shaped
    if cipher is None:
        raise ConfigError(f"agency '{profile.id}' requires field encryption but has no key")
    return encrypt_fields(shaped, protected.fields, cipher, order.id)


def status(
    order: WorkOrder,
    previous: Status,
    agency: str | None,
    *,
    agency_status: str | None = None,
    reason: str | None = None,
    result: str | None = None,
    agency_ref: str | None = None,
    occurred_at: str,
) -> dict[str, Any]:
    """A status change reported to the hotline platform."""
    return {
        "type": "work_order.status",
        **_ids(order),
        "status": order.status.value,
        "previous": previous.value,
        "agency": agency,
        "agency_status": agency_status,
        "agency_ref": agency_ref,
        "reason": reason,
        "result": result,
        "occurred_at": occurred_at,
    }


def event(
    order: WorkOrder,
    profile: AgencyProfile,
    hotline_event: HotlineEvent,
    cipher: FieldCipher | None = None,
) -> dict[str, Any]:
    """A hotline event forwarded to an agency working on the order."""
    body: dict[str, Any] = {
        "type": "work_order.event",
        **_ids(order),
        "event": hotline_event.type,
        "status": order.status.value,
        **hotline_event.model_dump(mode="json", exclude={"type", "flow_id"}),
    }
    if hotline_event.satisfaction is not None:
        body["satisfaction"] = on_agency_scale(hotline_event.satisfaction, profile)
    if hotline_event.type == "supplement":
        body["work_order"] = _rendered(order, profile, cipher)
    return body


def on_agency_scale(score: int, profile: AgencyProfile) -> int:
    """A 1–5 satisfaction score (ours: 5 = 非常满意) on the agency's own scale."""
    return score if profile.satisfaction_best == 5 else 6 - score


def transfer_in(
    order: WorkOrder, agency: str, sender: dict[str, str] | None = None
) -> dict[str, Any]:
    """A matter an agency transferred, handed on to the hotline platform; `sender` is the
    agency's responsible unit and person, as it gave them."""
    return {
        "type": "work_order.transfer",
        **_ids(order),
        "from_agency": agency,
        "from_unit": sender or {},
        "work_order": sent_fields(order),
    }
