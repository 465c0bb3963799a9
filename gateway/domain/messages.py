"""Handoffs, receipts and the messages that cross Lianxin's edges.

A ``Handoff`` is one durable message to one party (an agency, or the hotline platform
for status callbacks). Its id is made once, when the row is written, and is the
idempotency key every attempt carries. Its body is fixed then too, so the digest in
the audit trail always matches what was sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from pydantic import Field, model_validator

from gateway.domain.bounds import (
    HANDOFF_ID_MAX,
    NO_CONTROL,
    TEXT,
    ExternalId,
    ExternalRef,
    OrderRef,
)
from gateway.domain.workorder import AwareDatetime, Strict, WorkOrderIn

HOTLINE = "hotline"  # the party name of the hotline platform in handoffs and audit


class Lane(StrEnum):
    """Delivery lanes: emergency handoffs never wait behind normal ones."""

    emergency = "emergency"
    normal = "normal"


def in_turns(wanted: Mapping[str, int], limit: int, first: int = 0) -> dict[str, int]:
    """`wanted` (handoffs per agency) cut to `limit` in all, shared out in turns: one each
    in `wanted`'s order starting from its `first` agency (counted round), then a second
    each, and so on. How a claim shares its room; claims that move `first` on take turns
    at being first, so an agency late in the order is not always the one left out."""
    order = list(wanted)
    if order:
        start = first % len(order)
        order = order[start:] + order[:start]
    taken = dict.fromkeys(order, 0)
    while limit > 0:
        turn = [agency for agency in order if taken[agency] < wanted[agency]][:limit]
        if not turn:
            break
        for agency in turn:
            taken[agency] += 1
        limit -= len(turn)
    return {agency: n for agency, n in taken.items() if n}


class HandoffState(StrEnum):
    """Where a handoff stands in the outbox."""

    pending = "pending"
    in_flight = "in_flight"
    delivered = "delivered"
    dead = "dead"
    cancelled = "cancelled"  # withdrawn before it was sent: the order went to another agency


class HandoffKind(StrEnum):
    """What a handoff carries."""

    transfer = "transfer"  # a work order to the agency that must act
    event = "event"  # a hotline event (supplement, supervise, cancel…) to the agency
    status = "status"  # a status change back to the hotline platform
    alert = "alert"  # an escalation or a deadline card for the hotline and alert channels


@dataclass(frozen=True)
class Handoff:
    """One durable message in the outbox."""

    id: str
    order_id: str
    agency: str
    kind: HandoffKind
    lane: Lane
    body: bytes
    body_digest: str
    attempts: int = 0
    state: HandoffState = HandoffState.pending
    next_attempt_at: float = 0.0
    created_at: float = 0.0
    last_error: str | None = None
    claim: str | None = None  # the token of the claim this copy was leased under
    traceparent: str | None = None  # the trace it was written in: its attempts continue it


Sign = Callable[[str, bytes], dict[str, str]]


@dataclass(frozen=True)
class Delivery:
    """What a connector sends for one attempt: the fixed body plus fresh signature headers.

    `sign(message_id, content)` signs another wire form of the same message (e.g. the
    canonical SOAP Body) for transports that do not send `body` as it is; their `headers`
    carry no signature of `body` (only trace context, when traced).
    """

    handoff_id: str
    agency: str
    endpoint: str
    body: bytes
    headers: dict[str, str]
    timeout: float
    sign: Sign | None = None

    def trace_headers(self) -> dict[str, str]:
        """The W3C trace-context headers among `headers` (none when tracing is off), for
        transports that build their own request headers."""
        return {k: v for k, v in self.headers.items() if k in TRACE_HEADERS}


TRACE_HEADERS = ("traceparent", "tracestate")


@dataclass(frozen=True)
class Receipt:
    """An agency's acknowledgement of one delivery."""

    status_code: int
    response_digest: str
    agency_ref: str | None = None
    details: dict[str, str] = field(default_factory=dict)


class StatusUpdate(Strict):
    """A signed update from an agency about an order addressed to it."""

    type: Literal["status"] = "status"
    order_id: OrderRef | None = None
    flow_id: ExternalRef | None = None
    status: str = Field(
        min_length=1, max_length=64, pattern=NO_CONTROL, description="the agency's own code or ours"
    )
    reason: str | None = Field(default=None, max_length=2000, pattern=TEXT)
    result: str | None = Field(default=None, max_length=20_000, pattern=TEXT)
    agency_ref: ExternalRef | None = None
    occurred_at: AwareDatetime = Field(
        description="the agency's own time: kept and shown, never used to decide legality"
    )
    generation: int | None = Field(
        default=None,
        ge=1,
        le=10_000,
        description="the assignment generation this update answers (from the transfer's "
        "'assignment'); an older one is refused as superseded",
    )
    person: str | None = Field(
        default=None,
        max_length=100,
        pattern=NO_CONTROL,
        description="who did it (e.g. 签收人, 经办人, 反馈人)",
    )
    unit: str | None = Field(
        default=None,
        max_length=200,
        pattern=NO_CONTROL,
        description="the unit that did it (签收单位, 经办部门…)",
    )
    unit_code: str | None = Field(
        default=None, max_length=64, pattern=NO_CONTROL, description="that unit's code"
    )


class DeliveryReceipt(Strict):
    """An agency's own acknowledgement of one handoff, for transports whose transport-level
    acknowledgement is not proof of receipt (an MQTT PUBACK only says the broker has it)."""

    type: Literal["receipt"]
    handoff_id: str = Field(min_length=1, max_length=HANDOFF_ID_MAX, pattern=NO_CONTROL)
    agency_ref: ExternalRef | None = None


class TransferIn(Strict):
    """A new matter an agency hands to the hotline (e.g. 110's 双非 transfers)."""

    type: Literal["transfer"]
    work_order: WorkOrderIn
    unit: str | None = Field(
        default=None,
        max_length=200,
        pattern=NO_CONTROL,
        description="the sending agency's responsible unit (e.g. 110's GXDWMC 管辖单位)",
    )
    unit_code: str | None = Field(
        default=None, max_length=64, pattern=NO_CONTROL, description="its code (110's GXDWDM)"
    )
    person: str | None = Field(
        default=None, max_length=100, pattern=NO_CONTROL, description="who sent it"
    )

    def sender(self) -> dict[str, str]:
        """Who on the agency's side sent the matter (the fields given)."""
        who = {"unit": self.unit, "unit_code": self.unit_code, "person": self.person}
        return {key: value for key, value in who.items() if value}


HotlineEventType = Literal[
    "supplement",
    "supervise",
    "cancel",
    "approve_extension",
    "refuse_extension",  # 延期不予批准: back to work, the deadline unchanged; needs a reason
    "resolve",
    "revisit",
    "reopen",
    "reassign",  # 改派: to another agency, or back to the same one with new instructions
    "archive",
    # the hotline as the handling party of a matter an agency transferred to it:
    "accept",
    "feedback",
    "correct_reply",  # 更正答复: replaces the text of the last feedback (e.g. on a board)
    "return",
]


class HotlineEvent(Strict):
    """A hotline-side event about an order: a supplement, supervision, cancel, revisit result…"""

    type: HotlineEventType
    event_id: ExternalId = Field(description="idempotency key")
    occurred_at: AwareDatetime
    reason: str | None = Field(default=None, max_length=2000, pattern=TEXT)
    note: str | None = Field(default=None, max_length=20_000, pattern=TEXT)
    satisfaction: int | None = Field(default=None, ge=1, le=5, description="revisit score 1–5")
    flow_id: ExternalId | None = Field(
        default=None, description="the hotline's own id, with 'accept'"
    )
    extend_working_days: int | None = Field(
        default=None, ge=1, le=60, description="with 'approve_extension': working days added"
    )
    resolve_by: AwareDatetime | None = Field(
        default=None, description="with 'approve_extension': the new resolve-by deadline"
    )
    agency: str | None = Field(
        default=None, max_length=50, description="with 'reassign': the new lead agency"
    )

    @model_validator(mode="after")
    def _extension_says_how_long(self) -> HotlineEvent:
        given = (self.extend_working_days is not None) + (self.resolve_by is not None)
        if self.type == "approve_extension" and given != 1:
            raise ValueError("'approve_extension' needs extend_working_days or resolve_by")
        if self.type != "approve_extension" and given:
            raise ValueError("extend_working_days and resolve_by go with 'approve_extension'")
        if (self.type == "reassign") != (self.agency is not None):
            raise ValueError("'reassign' needs the new lead 'agency', and only it takes one")
        if self.type == "refuse_extension" and not (self.reason and self.reason.strip()):
            raise ValueError("'refuse_extension' needs the refusal's reason in 'reason'")
        if self.type == "correct_reply" and not (self.note and self.note.strip()):
            raise ValueError("'correct_reply' needs the corrected text in 'note'")
        return self
