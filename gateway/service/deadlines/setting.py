"""Setting an order's deadlines from its jurisdiction's policy, for every origin.

Orders from the hotline, and the matters 110 (双非) or a portal board transfer to the
hotline, get their sign-for and resolve deadlines the same way: the policy's limits for
that origin, counted in working days in the policy's time zone. The result is audited
(`deadlines_set`), its cards are armed, and a deadline counted in, or falling in, a year
the calendar does not know, or knows only provisionally, raises an alert.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime, timedelta, tzinfo

from gateway.domain.audit import AuditEvent, AuditKind
from gateway.domain.workorder import WorkOrder
from gateway.mapping.profiles import DeadlinePolicy
from gateway.service.deadlines.cards import zone_of
from gateway.service.deadlines.watch import arm_deadlines
from gateway.service.deadlines.workdays import DueDate, resolve_by
from gateway.service.directory import Directory
from gateway.service.operations.alerts import raise_alert
from gateway.service.ports.calendar import WorkdayCalendar
from gateway.service.ports.store import UnitOfWork, Watch

log = logging.getLogger("lianxin.deadlines")
#: resolve deadlines remembered (by local day, working days and zone) before starting afresh
REMEMBERED_DAYS = 256
#: uncertain years as remembered: (name, years) pairs, nothing a caller could change
Years = tuple[tuple[str, tuple[int, ...]], ...]


class DeadlineSetter:
    """Fills, audits and watches the deadlines an order was sent without."""

    def __init__(self, directory: Directory, calendar: WorkdayCalendar) -> None:
        self.directory = directory
        self.calendar = calendar
        self._resolve_by: dict[tuple[date, int, tzinfo], tuple[datetime, Years]] = {}

    def policy_for(self, order: WorkOrder) -> DeadlinePolicy | None:
        """The jurisdiction policy of the order's place (the default one without a place)."""
        return self.directory.deadline_policy(
            order.location.division_code if order.location else None
        )

    def fill(
        self, order: WorkOrder, policy: DeadlinePolicy | None
    ) -> tuple[WorkOrder, AuditEvent | None]:
        """The order with the deadlines it left open filled in, and the audit entry saying so."""
        if policy is None:
            return order, None
        zone = zone_of(policy)
        minutes, limits = policy.limits_for(order.origin)
        days = limits[order.category]
        given = order.due
        ack = given.acknowledge_by or (order.received_at + timedelta(minutes=minutes)).astimezone(
            zone
        )
        if given.resolve_by:
            resolve = given.resolve_by
            years = uncertain_years(self.calendar, resolve, zone, None)
        else:
            resolve, years = self._counted(order.received_at, days, zone)
        due = given.model_copy(update={"acknowledge_by": ack, "resolve_by": resolve})
        _log_unknown(order, years["calendar_unknown_years"])
        entry = AuditEvent(
            AuditKind.deadlines_set,
            order_id=order.id,
            detail={
                "policy": policy.id,
                "origin": order.origin,
                "time_zone": policy.time_zone,
                "acknowledge_by": ack.isoformat(),
                "resolve_by": due.resolve_by.isoformat() if due.resolve_by else None,
                "working_days": days,
                **years,
            },
        )
        return order.model_copy(update={"due": due}), entry

    def _counted(
        self, received: datetime, days: int, zone: tzinfo
    ) -> tuple[datetime, dict[str, list[int]]]:
        """The end of the working day `days` working days after `received`, and the unknown
        and provisional years that counted, remembered per local day (every order of a day
        counts the same days; the calendar does not change while the process runs)."""
        key = (received.astimezone(zone).date(), days, zone)
        found = self._resolve_by.get(key)
        if found is None:
            if len(self._resolve_by) >= REMEMBERED_DAYS:
                self._resolve_by.clear()
            resolve, counted = resolve_by(received, days, self.calendar, zone)
            years = uncertain_years(self.calendar, resolve, zone, counted)
            found = self._resolve_by[key] = (resolve, _frozen(years))
        return found[0], {name: list(counted_years) for name, counted_years in found[1]}

    def watch(
        self,
        uow: UnitOfWork,
        order: WorkOrder,
        policy: DeadlinePolicy | None,
        entry: AuditEvent | None,
        now: float,
        *also: Watch,
    ) -> None:
        """Arm the order's cards and the watches `also` given; say loudly when its deadline
        counts an uncertain year."""
        arm_deadlines(uow, order, policy, now, self.calendar, *also)
        if entry is not None:
            calendar_alerts(uow, self.directory, order, entry.detail, now)


def calendar_alerts(
    uow: UnitOfWork,
    directory: Directory,
    order: WorkOrder,
    counted: Mapping[str, object],
    now: float,
) -> None:
    """Raise the alerts a deadline counted in an unknown or a provisional year calls for."""
    unknown = counted.get("calendar_unknown_years")
    if unknown:
        detail = {"years": unknown, "rule": "Monday to Friday are working days"}
        raise_alert(uow, directory, order, "calendar_unknown_year", now, detail=detail)
    provisional = counted.get("calendar_provisional_years")
    if provisional:
        detail = {"years": provisional, "rule": "statutory holidays only, no 调休 yet"}
        raise_alert(uow, directory, order, "calendar_provisional_year", now, detail=detail)


def uncertain_years(
    calendar: WorkdayCalendar,
    deadline: datetime | None,
    zone: tzinfo,
    counted: DueDate | None,
) -> dict[str, list[int]]:
    """The unknown and the provisional years a deadline counted, or falls in."""
    unknown = set(counted.assumed_years) if counted else set()
    provisional = set(counted.provisional_years) if counted else set()
    if deadline is not None:
        day = deadline.astimezone(zone).date()
        if calendar.is_workday(day) is None:
            unknown.add(day.year)
        elif calendar.is_provisional(day.year):
            provisional.add(day.year)
    return {
        "calendar_unknown_years": sorted(unknown),
        "calendar_provisional_years": sorted(provisional),
    }


def _frozen(years: dict[str, list[int]]) -> Years:
    return tuple((name, tuple(counted)) for name, counted in years.items())


def _log_unknown(order: WorkOrder, years: list[int]) -> None:
    if years:
        log.warning(
            "the working-day calendar has no data for %s: order %s's deadline counts "
            "Monday to Friday as working days there",
            years,
            order.id,
        )
