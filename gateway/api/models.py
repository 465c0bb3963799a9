"""The answers of the HTTP API as pydantic models: what the OpenAPI documents.

The handlers still build their answers as plain dicts (the bytes on the wire are the ones
peers already rely on); these models only describe them. They are strict
(`additionalProperties: false`), so a field added to an answer without its model, or a
model that promises a field the answer lacks, is drift, and the schemathesis drift test
(`tests/integration/api/test_openapi_drift.py`) fails on it.

Times are ISO 8601 strings in UTC written by the gateway (`…+00:00`), except an agency's
own `agency_time`, kept as the agency sent it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from gateway.domain.assignments import Role as AssignmentRole
from gateway.domain.assignments import Step
from gateway.domain.messages import HandoffKind, HandoffState, Lane
from gateway.domain.states import Status
from gateway.domain.workorder import WorkOrderIn

ORDER_ID = "wo_01a20eafc917c2326fb7485f48c3"
HANDOFF_ID = "msg_01a20eafc91fe1bef01ad54a840f"
FLOW_ID = "GZ12345-20261124-000102"

#: a time the gateway writes: ISO 8601 in UTC
IsoTime = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]


class Answer(BaseModel):
    """Base of every documented answer: no field beyond the documented ones."""

    model_config = ConfigDict(extra="forbid")


# --- errors -----------------------------------------------------------------------------


class ErrorBody(Answer):
    """What went wrong: a stable code to branch on, a message for people, details."""

    code: str = Field(
        description="stable and machine-readable, e.g. `validation_error`, `unknown_order`, "
        "`revision_conflict`, `rate_limited`, `store_unavailable`"
    )
    message: str = Field(description="for people; may change between versions")
    details: Any = Field(
        default=None,
        description="present only when there is more to say: for `validation_error` a list "
        "of `{loc, msg}`, otherwise an object naming the values involved",
    )


class Error(Answer):
    """The one body of every refusal and failure (`gateway/api/errors.py`)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": {
                        "code": "unknown_order",
                        "message": "no work order with id 'wo_0000'",
                        "details": {"order_id": "wo_0000"},
                    }
                },
                {
                    "error": {
                        "code": "validation_error",
                        "message": "the body does not match the schema",
                        "details": [{"loc": "body.title", "msg": "Field required"}],
                    }
                },
            ]
        }
    )

    error: ErrorBody


# --- work orders ----------------------------------------------------------------------


class OrderLinks(Answer):
    """Where to read the order."""

    self: str = Field(description="the order's URL path", examples=[f"/v1/work-orders/{ORDER_ID}"])


class Accepted(Answer):
    """A submitted work order, stored and routed (202), or the same revision again (200)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": ORDER_ID,
                    "flow_id": FLOW_ID,
                    "revision": 1,
                    "status": "received",
                    "created": True,
                    "lead_agency": "water-utility",
                    "assisting_agencies": [],
                    "handoffs": [HANDOFF_ID],
                    "links": {"self": f"/v1/work-orders/{ORDER_ID}"},
                }
            ]
        }
    )

    id: str = Field(description="Lianxin's order id (wo_…)")
    flow_id: str = Field(description="the hotline's 工单流水号")
    revision: int
    status: Status
    created: bool = Field(description="false when this revision was already stored")
    lead_agency: str | None = Field(description="主办 agency")
    assisting_agencies: list[str] = Field(description="协办 agencies")
    handoffs: list[str] = Field(description="the deliveries queued by this request (msg_…)")
    links: OrderLinks


class ActionView(Answer):
    """Who on the agency's side did what: our time (`recorded_at`) and theirs."""

    step: Step
    person: str | None = Field(description="e.g. 签收人 王五")
    unit: str | None = Field(description="e.g. 签收单位 纳税服务科")
    unit_code: str | None
    reason: str | None
    recorded_at: IsoTime | None
    agency_time: str | None = Field(description="the agency's own time, as it sent it")


class AssignmentView(Answer):
    """One agency's part in the order (主办 or 协办), generation by generation."""

    agency: str
    role: AssignmentRole
    generation: int = Field(ge=1)
    step: Step
    transfer_id: str | None = Field(description="the handoff that carried the transfer")
    opened_at: IsoTime | None
    released_at: IsoTime | None
    return_reason: str | None
    waits_for_assisting: bool = Field(description="a lead whose 答复 waits for every 协办")
    actions: list[ActionView]


class MaskedCaller(Answer):
    """The citizen, masked: 李**, 139****1111."""

    name: str | None
    phone: str | None
    id_number: str | None
    confidential: bool


class StoredWorkOrder(WorkOrderIn):
    """The order as submitted (a `WorkOrderIn`), the caller masked, plus what Lianxin adds."""

    caller: MaskedCaller | None = None  # type: ignore[assignment]
    id: str
    origin: str = Field(description="'hotline' or the agency that transferred it")
    status: Status
    lead_agency: str | None
    assisting_agencies: list[str]


class HandoffView(Answer):
    """One delivery to an agency and where it stands."""

    id: str = Field(description="msg_…")
    agency: str
    kind: HandoffKind
    lane: Lane
    state: HandoffState
    attempts: int
    last_error: str | None
    last_status: int | None = Field(description="the agency's last HTTP status")
    agency_ref: str | None = Field(description="the agency's own id for the order")
    created_at: IsoTime | None
    delivered_at: IsoTime | None
    payload_digest: str | None = Field(
        description="SHA-256 of the handoff's JSON body, hex (a SOAP or message-board delivery"
        " sends another form of it: its delivery entry's detail names that form's digest as"
        " wire_digest, docs/evidence.md)"
    )


class AuditEntryView(Answer):
    """One step of the order's audit trail (docs/architecture.md#audit-trail)."""

    seq: int
    at: IsoTime | None
    event: str = Field(
        description="the audit kind, e.g. received, delivered, failed, status_applied"
        " (older entries: routed, signed, sent, acknowledged …)"
    )
    party: str | None
    handoff_id: str | None
    payload_digest: str | None
    detail: dict[str, Any] = Field(description="phone and ID numbers masked")


class OrderView(Answer):
    """A work order, every handoff's delivery state and every audit step, oldest first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": ORDER_ID,
                    "status": "dispatched",
                    "lead_agency": "water-utility",
                    "assignments": [
                        {
                            "agency": "water-utility",
                            "role": "lead",
                            "generation": 1,
                            "step": "signed",
                            "transfer_id": HANDOFF_ID,
                            "opened_at": "2026-11-24T00:05:41.031054+00:00",
                            "released_at": None,
                            "return_reason": None,
                            "waits_for_assisting": False,
                            "actions": [
                                {
                                    "step": "signed",
                                    "person": "王五",
                                    "unit": "供水抢修一班",
                                    "unit_code": None,
                                    "reason": None,
                                    "recorded_at": "2026-11-24T00:12:03.120000+00:00",
                                    "agency_time": "2026-11-24T08:12:02+08:00",
                                }
                            ],
                        }
                    ],
                    "work_order": {
                        "flow_id": FLOW_ID,
                        "acceptance_no": "SL202611240102",
                        "revision": 1,
                        "partner_ids": {},
                        "category": "complaint",
                        "matter_code": None,
                        "urgency": "normal",
                        "title": "天河区某小区连续三天水压不足",
                        "content": "市民反映天河区某小区近三天早晚高峰自来水水压不足，"
                        "高层住户基本无水，要求尽快处理。",
                        "location": {
                            "address": "广州市天河区某小区",
                            "division_code": "440106",
                            "coordinates": None,
                        },
                        "caller": {
                            "name": "李**",
                            "phone": "139****1111",
                            "id_number": None,
                            "confidential": False,
                        },
                        "attachments": [],
                        "received_at": "2026-11-24T08:05:40+08:00",
                        "due": {"acknowledge_by": None, "reply_by": None, "resolve_by": None},
                        "channel": "phone",
                        "route_to": None,
                        "id": ORDER_ID,
                        "origin": "hotline",
                        "status": "dispatched",
                        "lead_agency": "water-utility",
                        "assisting_agencies": [],
                    },
                    "handoffs": [
                        {
                            "id": HANDOFF_ID,
                            "agency": "water-utility",
                            "kind": "transfer",
                            "lane": "normal",
                            "state": "delivered",
                            "attempts": 1,
                            "last_error": None,
                            "last_status": 200,
                            "agency_ref": "ZLS-000001",
                            "created_at": "2026-11-24T00:05:41.031054+00:00",
                            "delivered_at": "2026-11-24T00:05:41.058113+00:00",
                            "payload_digest": "3e5778cede358454f9b4a39fcd33916a"
                            "b1fd4dfd84e095d4f01607a3d57b3a82",
                        }
                    ],
                    "timeline": [
                        {
                            "seq": 1,
                            "at": "2026-11-24T00:05:41.035162+00:00",
                            "event": "received",
                            "party": "hotline",
                            "handoff_id": None,
                            "payload_digest": None,
                            "detail": {"flow_id": FLOW_ID, "revision": 1},
                        }
                    ],
                }
            ]
        }
    )

    id: str
    status: Status
    lead_agency: str | None
    assignments: list[AssignmentView]
    work_order: StoredWorkOrder
    handoffs: list[HandoffView]
    timeline: list[AuditEntryView]


class EventOutcome(Answer):
    """What became of a hotline event or an agency message."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"result": "applied", "order_id": ORDER_ID, "status": "supervised"}]
        }
    )

    result: Literal["applied", "duplicate", "recorded", "outdated", "created", "receipt"] = Field(
        description="`duplicate`: this event or webhook-id was seen before and is not "
        "applied again; `created`: an agency's transfer became a new order (201)"
    )
    order_id: str | None
    status: str | None = Field(description="the order's status after the message")


# --- public keys and health -------------------------------------------------------------


class PublicKeys(Answer):
    """Lianxin's Ed25519 verifying keys, newest first."""

    keys: list[str] = Field(examples=[["whpk_MCowBQYDK2VwAyEA…"]])
    scheme: Literal["v1a"]


class Alive(Answer):
    """The process serves requests."""

    status: Literal["ok"]


class Ready(Answer):
    """Ready: the outbox's handoffs counted by state."""

    status: Literal["ready"]
    handoffs: dict[str, int] = Field(examples=[{"delivered": 1520, "pending": 3}])


class NotReady(Answer):
    """Not ready: the first reason, and (when the checks ran) every reason."""

    status: Literal["unavailable"]
    reason: str
    reasons: list[str] | None = None


# --- operations ---------------------------------------------------------------------------


class DeadLetterView(Answer):
    """A dead-lettered delivery."""

    id: str
    order_id: str = Field(description="the order, or another subject (an agency's alerts)")
    agency: str
    kind: HandoffKind
    lane: Lane
    attempts: int
    last_error: str | None
    last_status: int | None
    created_at: IsoTime


class DeadLetters(Answer):
    """The dead letters of an agency and window (at most `limit`), and how many in all."""

    state: Literal["dead"]
    total: int
    deliveries: list[DeadLetterView]


class ReplayOutcome(Answer):
    """A dry run's count, or what a replay did (`replayed`, `batches`, `cancelled` then)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"dry_run": True, "count": 12},
                {"dry_run": False, "count": 12, "replayed": 12, "batches": 1, "cancelled": False},
            ]
        }
    )

    dry_run: bool
    count: int
    replayed: int | None = None
    batches: int | None = None
    cancelled: bool | None = None


class CancelledReplays(Answer):
    """How many running replays were told to stop."""

    cancelled: int


class AgencyHealthView(Answer):
    """One agency's delivery health over the window (gateway/service/health.py)."""

    agency: str
    display_name: str = Field(examples=["市自来水公司"])
    delivered: int
    failed: int
    success_rate: float | None
    p50_ms: float | None
    p99_ms: float | None
    backlog: int
    dead: int
    circuit: Literal["closed", "half_open", "open", "off"]
    paused: bool
    disabled: bool
    last_error: str | None
    last_error_at: IsoTime | None
    returned: int


class AgencyStateView(Answer):
    """An agency's operating state after a pause or resume."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "agency": "water-utility",
                    "paused": True,
                    "disabled": False,
                    "reason": "市自来水公司系统升级，暂停推送至今晚22:00",
                    "changed_by": "ops-li",
                    "updated_at": "2026-11-24T06:00:00+00:00",
                }
            ]
        }
    )

    agency: str
    paused: bool
    disabled: bool
    reason: str | None
    changed_by: str | None
    updated_at: IsoTime
