"""Pause and resume an agency: an operator holds its deliveries during an outage.

A paused agency gets no quota when the dispatcher claims (like one whose endpoint answered
410), so its handoffs wait in the outbox instead of burning their retry schedule against
a system that is down. Deliveries already under way finish. Resuming clears the pause and
the 410 mark alike. Both are put on record with who did it.
"""

from __future__ import annotations

from gateway.domain.audit import AuditEvent, AuditKind
from gateway.service.directory import Directory
from gateway.service.ports.store import AgencyState, UnitOfWork


def pause(
    uow: UnitOfWork, directory: Directory, agency: str, by: str, reason: str, now: float
) -> AgencyState:
    """Hold `agency`'s deliveries until it is resumed; audited as `agency_paused`."""
    directory.profile(agency)  # UnknownAgency (404) with a "did you mean"
    uow.agencies.pause(agency, by, reason, now)
    uow.audit.append(
        AuditEvent(AuditKind.agency_paused, party=agency, detail={"by": by, "reason": reason})
    )
    return uow.agencies.states()[agency]


def resume(uow: UnitOfWork, directory: Directory, agency: str, by: str, now: float) -> AgencyState:
    """Deliver to `agency` again (clears a pause and a 410 mark); audited as `agency_resumed`."""
    directory.profile(agency)
    before = uow.agencies.states().get(agency, AgencyState(agency))
    uow.agencies.enable(agency, by, now)
    uow.standings.resumed(agency, now)  # failures forgotten; the next delivery: agency_recovered
    detail = {"by": by, "was_paused": before.paused, "was_disabled": before.disabled}
    uow.audit.append(AuditEvent(AuditKind.agency_resumed, party=agency, detail=detail))
    return uow.agencies.states()[agency]
