"""Delivery attempts bounded by their claim: the deadline that cuts them, the fence on
their outcomes.

A claim leases a handoff for `lease_seconds` and hands its attempt a claim token. The
dispatcher cuts each attempt at its deadline, well inside the lease, whatever its
connector does; the store writes an attempt's outcome only while its token still holds
the handoff (in the statement that writes it). An outcome that comes after its attempt
lost the claim is a stale one: put on record here, and nothing else changes.
"""

from __future__ import annotations

import logging
from typing import Any

from gateway.domain.audit import AuditKind
from gateway.domain.errors import ConfigError, DeliveryError, TransientDelivery
from gateway.domain.messages import Handoff
from gateway.service.delivery.attempts import Attempt, delivery_entry, sent_detail
from gateway.service.ports.store import UnitOfWork

log = logging.getLogger("lianxin.dispatch")

#: the share of the lease an attempt may use by default; the rest is the margin in which
#: its outcome is recorded while its claim still holds
ATTEMPT_SHARE = 0.75


def attempt_deadline(configured: float | None, lease: float) -> float:
    """Seconds from its claim after which an attempt is cut: `configured`, or
    ATTEMPT_SHARE of the lease. Refused unless above 0 and below the lease."""
    deadline = ATTEMPT_SHARE * lease if configured is None else configured
    if not 0 < deadline < lease:
        raise ConfigError(
            f"an attempt's deadline ({deadline:g} s) must be above 0 and below the lease "
            f"({lease:g} s): an attempt must not outlive its claim",
            attempt_seconds=deadline,
            lease_seconds=lease,
        )
    return deadline


def deadline_passed(deadline: float, lease: float, sent: bool) -> TransientDelivery:
    """The failure of an attempt cut at its deadline, `deadline` seconds after its claim
    (retried like a timeout, not as throttling); `sent` when it had reached its connector."""
    what = "no complete answer" if sent else "no free delivery slot"
    return TransientDelivery(
        f"attempt deadline: {what} within {deadline:g} s of the claim (lease {lease:g} s)"
    )


def settle_failure(
    uow: UnitOfWork, handoff: Handoff, error: DeliveryError, retry_at: float | None
) -> bool:
    """Dead-letter the handoff (`retry_at` None) or reschedule it, fenced by the claim of
    the attempt that failed; whether that claim still held it."""
    if retry_at is None:
        return uow.handoffs.dead(handoff.id, handoff.claim, error.message, error.status_code)
    return uow.handoffs.reschedule(
        handoff.id, handoff.claim, retry_at, error.message, error.status_code
    )


def record_stale(uow: UnitOfWork, attempt: Attempt) -> None:
    """Put on record an attempt whose outcome came after it lost its claim (the lease ran
    out and the handoff was claimed again, or it was released): `stale_outcome`, naming
    the attempt (its number, endpoint and duration), the request's digest and the
    signature sent with it, its claim and what it ended with."""
    handoff, receipt, error = attempt.handoff, attempt.receipt, attempt.error
    detail: dict[str, Any] = {**sent_detail(attempt), "claim": handoff.claim}
    if receipt is not None:
        detail |= {"outcome": "acknowledged", "status": receipt.status_code}
        detail["agency_ref"] = receipt.agency_ref
        detail["response_digest"] = receipt.response_digest
    elif error is not None:
        detail |= {"outcome": "failed", "status": error.status_code, "error": error.message}
    log.warning(
        "handoff %s: attempt %d ended after its claim was lost; its outcome is not recorded",
        handoff.id,
        handoff.attempts,
    )
    uow.audit.append(delivery_entry(AuditKind.stale_outcome, attempt, detail))
