"""A delivery attempt as the dispatcher records it, and the audit entries it makes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.domain.audit import AuditEvent, AuditKind
from gateway.domain.errors import DeliveryError
from gateway.domain.messages import Handoff, Receipt


@dataclass(frozen=True)
class Attempt:
    """One delivery attempt and how it ended."""

    handoff: Handoff
    endpoint: str
    signature: str
    started: float
    finished: float
    receipt: Receipt | None = None
    error: DeliveryError | None = None
    circuit_opened: bool = False  # this outcome opened the agency's circuit


def sent_detail(attempt: Attempt) -> dict[str, Any]:
    """What an attempt's entry says of the request: its number, where it went, how long."""
    ms = round((attempt.finished - attempt.started) * 1000, 1)
    return {"attempt": attempt.handoff.attempts, "endpoint": attempt.endpoint, "ms": ms}


def delivery_entry(event: AuditKind, attempt: Attempt, detail: dict[str, Any]) -> AuditEvent:
    """The one entry of an attempt's outcome: the request's digest and the signature sent
    with it (none when the attempt never got as far as signing), and `detail`."""
    handoff = attempt.handoff
    fields = {"payload_digest": handoff.body_digest, "signature": attempt.signature or None}
    return handoff_entry(event, handoff, **fields, detail=detail)


def handoff_entry(event: AuditKind, handoff: Handoff, **fields: Any) -> AuditEvent:
    """An audit entry about one handoff."""
    return AuditEvent(
        event, order_id=handoff.order_id, handoff_id=handoff.id, party=handoff.agency, **fields
    )
