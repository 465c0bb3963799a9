"""Alerts: escalations, deadline cards and agency health, on record and queued for whoever
must act.

An alert goes to the hotline platform and to every alert channel (a profile with
`alert_channel = true`) through the same durable outbox as everything else, never through
the path that is failing; and it is written to the audit trail in the same transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gateway.domain.audit import AuditEvent, AuditKind
from gateway.domain.messages import HOTLINE, HandoffKind, Lane
from gateway.domain.workorder import WorkOrder
from gateway.service.delivery.outbox import enqueue, enqueue_about
from gateway.service.directory import Directory
from gateway.service.ports.store import UnitOfWork

#: alert → what it means, for the payload and the docs
ALERTS = {
    "emergency_unacknowledged": "an emergency agency did not acknowledge in time",
    "emergency_undeliverable": "an emergency handoff could not be delivered: retries exhausted",
    "acknowledge_yellow": "the sign-for (签收) deadline is near",
    "acknowledge_red": "the sign-for (签收) deadline has passed",
    "resolve_yellow": "the resolve (办结) deadline is near",
    "resolve_red": "the resolve (办结) deadline has passed",
    "calendar_unknown_year": "the working-day calendar has no data for a year the deadline spans",
    "calendar_provisional_year": (
        "the deadline spans a year whose calendar is provisional (no State Council notice yet)"
    ),
}

#: agency alert → (level, what it means): about an agency, not one order
AGENCY_ALERTS = {
    "agency_failing": ("warning", "deliveries to an agency keep failing"),
    "agency_exhausted": ("red", "handoffs to an agency were dead-lettered: retries exhausted"),
    "agency_disabled": ("critical", "an agency gets no deliveries until an operator resumes it"),
    "agency_recovered": ("info", "an agency that was failing or disabled took a delivery again"),
}


def raise_alert(
    uow: UnitOfWork,
    directory: Directory,
    order: WorkOrder,
    alert: str,
    now: float,
    *,
    agency: str | None = None,
    detail: dict[str, Any] | None = None,
    level: str | None = None,
    meaning: str | None = None,
) -> None:
    """Audit `alert` about `order` and queue it for the hotline and every alert channel.

    A deadline card passes its own `level` (its colour) and `meaning` (its tier)."""
    facts = dict(detail or {})
    uow.audit.append(
        AuditEvent(
            AuditKind.alert_raised,
            order_id=order.id,
            party=agency,
            detail={"alert": alert, **facts},
        )
    )
    payload = {
        "type": "work_order.alert",
        "alert": alert,
        "level": level or level_of(alert),
        "meaning": meaning or ALERTS[alert],
        "order_id": order.id,
        "flow_id": order.flow_id,
        "acceptance_no": order.acceptance_no,
        "status": order.status.value,
        "urgency": order.urgency.value,
        "agency": agency,
        "raised_at": datetime.fromtimestamp(now, UTC).isoformat(),
        "detail": facts,
    }
    for profile in [directory.profile(HOTLINE), *directory.alert_channels]:
        enqueue(uow, order, profile, HandoffKind.alert, payload, now)


def raise_agency_alert(
    uow: UnitOfWork,
    directory: Directory,
    agency: str,
    alert: str,
    now: float,
    detail: dict[str, Any],
) -> None:
    """Audit `alert` about `agency` and queue it for the hotline and every alert channel,
    except the agency itself: an alert never goes through the path it is about."""
    uow.audit.append(
        AuditEvent(AuditKind.alert_raised, party=agency, detail={"alert": alert, **detail})
    )
    level, meaning = AGENCY_ALERTS[alert]
    payload = {
        "type": "agency.alert",
        "alert": alert,
        "level": level,
        "meaning": meaning,
        "agency": agency,
        "raised_at": datetime.fromtimestamp(now, UTC).isoformat(),
        "detail": detail,
    }
    subject = f"agency:{agency}"[:40]  # one agency's alerts reach each channel in order
    for profile in [directory.profile(HOTLINE), *directory.alert_channels]:
        if profile.id != agency:
            enqueue_about(uow, subject, Lane.normal, profile, HandoffKind.alert, payload, now)


def level_of(alert: str) -> str:
    """yellow | red | critical | warning: how loud the alert is."""
    if alert.startswith("emergency_"):
        return "critical"
    if alert.endswith("_yellow"):
        return "yellow"
    if alert.endswith("_red"):
        return "red"
    return "warning"
