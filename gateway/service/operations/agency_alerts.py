"""Agency alerts: the agency-level alerts and auto-disable, from recorded delivery outcomes.

The dispatcher tallies each batch of outcomes it records (one transaction) and hands the
tally here, in the same transaction. Alerts are raised on transitions only, and each
transition is a conditional update of the agency's stored standing (`announced`: ok,
failing, disabled, or resumed: disabled and then resumed by an operator), so of several
processes only one announces it:

- `agency_failing`: its circuit opened (a profile with `[circuit] enabled`), or, without a
  breaker, `[circuit] consecutive` failures in a row (counted in the store, across processes);
- `agency_exhausted`: handoffs were dead-lettered; at most one alert per
  `exhausted_alert_interval`, counting every dead letter since the previous one;
- `agency_disabled`: its endpoint answered 410, or it has had only failures for
  `disable_after_days` (then marked disabled here, and its handoffs wait in the outbox);
- `agency_recovered`: the first delivery after `agency_failing` or `agency_disabled`
  (after an operator's resume, too).

A batch with no failure costs one small read (the agencies with something standing), and
a write only for an agency that has.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from gateway.domain.audit import AuditEvent, AuditKind
from gateway.mapping.profiles import CircuitPolicy
from gateway.service.directory import Directory
from gateway.service.operations.alerts import raise_agency_alert
from gateway.service.ports.store import Standing, UnitOfWork

DAY = 86_400.0


@dataclass
class AgencyTally:
    """One agency's outcomes in a batch: what counts is what came after its last delivery."""

    delivered: bool = False
    failures: int = 0  # after the last delivery in the batch
    first_failure_at: float = 0.0
    dead: int = 0
    gone: str | None = None  # the 410's message, after the last delivery
    circuit_opened: bool = False  # after the last delivery


class Tally:
    """The outcomes of one recorded batch, per agency, in the order they were recorded."""

    def __init__(self) -> None:
        self.agencies: dict[str, AgencyTally] = {}

    def delivered(self, agency: str) -> None:
        """A delivery went through: earlier failures in the batch no longer count."""
        dead = self._of(agency).dead
        self.agencies[agency] = AgencyTally(delivered=True, dead=dead)

    def failed(
        self, agency: str, at: float, *, dead: bool, gone: str | None, circuit_opened: bool
    ) -> None:
        """An attempt failed (and was dead-lettered, marked the endpoint gone, opened a circuit)."""
        t = self._of(agency)
        if t.failures == 0:
            t.first_failure_at = at
        t.failures += 1
        t.dead += dead
        t.gone = gone or t.gone
        t.circuit_opened = t.circuit_opened or circuit_opened

    def _of(self, agency: str) -> AgencyTally:
        return self.agencies.setdefault(agency, AgencyTally())


def record_standings(uow: UnitOfWork, directory: Directory, tally: Tally, now: float) -> bool:
    """Update the agencies' stored standing from `tally`; True if an alert was queued."""
    anyone_delivered = any(t.delivered for t in tally.agencies.values())
    standing = uow.standings.unsettled() if anyone_delivered else {}
    raised = False
    for agency, t in tally.agencies.items():
        if t.delivered and agency in standing:
            raised |= _recovered(uow, directory, standing[agency], now)
        if t.failures:
            raised |= _failing(uow, directory, agency, t, now)
        if t.dead:
            raised |= _exhausted(uow, directory, agency, t.dead, now)
    return raised


def _recovered(uow: UnitOfWork, directory: Directory, was: Standing, now: float) -> bool:
    if was.failures or was.failing_since is not None:
        uow.standings.delivered(was.agency, now)
    if was.announced == "ok" or was.agency in uow.agencies.disabled():
        return False  # nothing announced, or a late delivery to an agency disabled since
    if not uow.standings.announce(was.agency, "ok", ("failing", "disabled", "resumed"), now):
        return False
    detail = {
        "was": "failing" if was.announced == "failing" else "disabled",
        "resumed": was.announced == "resumed",
        "failing_since": _iso(was.failing_since),
    }
    raise_agency_alert(uow, directory, was.agency, "agency_recovered", now, detail)
    return True


def _failing(
    uow: UnitOfWork, directory: Directory, agency: str, t: AgencyTally, now: float
) -> bool:
    policy = directory.profile(agency).circuit
    record = uow.standings.failed(agency, t.failures, t.first_failure_at, now)
    facts = {"failures": record.failures, "failing_since": _iso(record.failing_since)}
    raised = False
    because = _failing_because(policy, t, record)
    if because and uow.standings.announce(agency, "failing", ("ok",), now):
        detail = {"because": because, **facts}
        raise_agency_alert(uow, directory, agency, "agency_failing", now, detail)
        raised = True
    if t.gone is not None:
        raised |= _disabled(uow, directory, agency, {"because": "gone", "reason": t.gone}, now)
    elif _failing_too_long(policy, record, now) and agency not in uow.agencies.disabled():
        raised |= _auto_disable(uow, directory, agency, policy, record, now)
    return raised


def _failing_because(policy: CircuitPolicy, t: AgencyTally, record: Standing) -> str | None:
    """Why the agency counts as failing now: its breaker opened, or (without one) too many
    failures in a row; None while it does not."""
    if policy.enabled:
        return "circuit_opened" if t.circuit_opened else None
    return "consecutive_failures" if record.failures >= policy.consecutive else None


def _failing_too_long(policy: CircuitPolicy, record: Standing, now: float) -> bool:
    days, since = policy.disable_after_days, record.failing_since
    return days is not None and since is not None and now - since >= days * DAY


def _auto_disable(
    uow: UnitOfWork,
    directory: Directory,
    agency: str,
    policy: CircuitPolicy,
    record: Standing,
    now: float,
) -> bool:
    """Hold an agency that has had only failures for `disable_after_days` (audited)."""
    reason = (
        f"only failures for {policy.disable_after_days:g} days "
        f"(since {_iso(record.failing_since)}, {record.failures} attempts)"
    )
    uow.agencies.disable(agency, reason, now)
    detail = {"reason": reason, "by": "auto", "failures": record.failures}
    uow.audit.append(AuditEvent(AuditKind.agency_disabled, party=agency, detail=detail))
    return _disabled(uow, directory, agency, {"because": "only_failures", "reason": reason}, now)


def _disabled(
    uow: UnitOfWork, directory: Directory, agency: str, detail: dict[str, str], now: float
) -> bool:
    if not uow.standings.announce(agency, "disabled", ("ok", "failing", "resumed"), now):
        return False
    raise_agency_alert(uow, directory, agency, "agency_disabled", now, dict(detail))
    return True


def _exhausted(uow: UnitOfWork, directory: Directory, agency: str, dead: int, now: float) -> bool:
    interval = directory.profile(agency).circuit.exhausted_alert_interval
    count = uow.standings.dead_lettered(agency, dead, now, interval)
    if not count:
        return False  # within the interval: counted, reported with the next alert
    detail = {"dead_letters": count, "interval_seconds": interval}
    raise_agency_alert(uow, directory, agency, "agency_exhausted", now, detail)
    return True


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat()
