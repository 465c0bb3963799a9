"""A delivery attempt as the dispatcher records it, what it signed, and the audit entries
it makes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from gateway.domain.audit import AuditEvent, AuditKind
from gateway.domain.errors import DeliveryError
from gateway.domain.messages import Handoff, Receipt, Sign


@dataclass
class SentSignature:
    """What one attempt signed. Every signature made for it is kept here as it is made,
    just before it is sent, so the last one made is the one that went out."""

    signature: str = ""  # none yet: the attempt never got as far as signing
    wire_digest: str | None = None  # SHA-256 of what a connector signed, if not the body

    def signed_body(self, sign: Sign, message_id: str, body: bytes) -> dict[str, str]:
        """The headers of the handoff's JSON body, for a connector that sends it as it is."""
        headers = sign(message_id, body)
        self.signature, self.wire_digest = headers["webhook-signature"], None
        return headers

    def wire_signer(self, sign: Sign) -> Sign:
        """`sign`, keeping what it signs: a connector's `Delivery.sign`, for what it really
        sends (a SOAP Body, a board reply)."""

        def signed_wire(message_id: str, content: bytes) -> dict[str, str]:
            headers = sign(message_id, content)
            self.signature = headers["webhook-signature"]
            self.wire_digest = hashlib.sha256(content).hexdigest()
            return headers

        return signed_wire


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
    wire_digest: str | None = None  # what `signature` covers, when not the handoff's body


def sent_detail(attempt: Attempt) -> dict[str, Any]:
    """What an attempt's entry says of the request: its number, where it went, how long,
    and the digest of what was signed when that was not the handoff's body."""
    ms = round((attempt.finished - attempt.started) * 1000, 1)
    detail: dict[str, Any] = {
        "attempt": attempt.handoff.attempts,
        "endpoint": attempt.endpoint,
        "ms": ms,
    }
    if attempt.wire_digest is not None:
        detail["wire_digest"] = attempt.wire_digest
    return detail


def delivery_entry(event: AuditKind, attempt: Attempt, detail: dict[str, Any]) -> AuditEvent:
    """The one entry of an attempt's outcome: the handoff body's digest and the signature
    sent with the request (none when the attempt sent nothing signed), and `detail`."""
    handoff = attempt.handoff
    fields = {"payload_digest": handoff.body_digest, "signature": attempt.signature or None}
    return handoff_entry(event, handoff, **fields, detail=detail)


def handoff_entry(event: AuditKind, handoff: Handoff, **fields: Any) -> AuditEvent:
    """An audit entry about one handoff."""
    return AuditEvent(
        event, order_id=handoff.order_id, handoff_id=handoff.id, party=handoff.agency, **fields
    )
