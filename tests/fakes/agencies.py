"""Memory agency state (disabled, paused) and standings (failures in a row, alerts)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from gateway.service.ports.store import AgencyState, Standing
from tests.fakes.state import MemoryState


class MemoryAgencies:
    """One AgencyState per agency that was ever disabled, paused or enabled."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def disable(self, agency: str, reason: str, now: float) -> None:
        self._upsert(agency, disabled=True, reason=reason, updated_at=now)

    def disabled(self) -> set[str]:
        return {name for name, state in self.state.agencies.items() if state.disabled}

    def pause(self, agency: str, by: str, reason: str, now: float) -> None:
        self._upsert(agency, paused=True, reason=reason, changed_by=by, updated_at=now)

    def enable(self, agency: str, by: str, now: float) -> None:
        self._upsert(
            agency, paused=False, disabled=False, reason=None, changed_by=by, updated_at=now
        )

    def held(self) -> set[str]:
        agencies = self.state.agencies
        return {name for name, state in agencies.items() if state.disabled or state.paused}

    def states(self) -> dict[str, AgencyState]:
        return dict(self.state.agencies)

    def _upsert(self, agency: str, **values: Any) -> None:
        """Set the named columns; a new agency starts neither disabled nor paused."""
        current = self.state.agencies.get(agency, AgencyState(agency))
        self.state.agencies[agency] = replace(current, **values)


class MemoryStandings:
    """One Standing per agency with anything on record."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def read_ahead(self) -> None:
        """Nothing to save in memory: `unsettled` reads the same."""

    def unsettled(self) -> dict[str, Standing]:
        return {
            name: standing
            for name, standing in self.state.standings.items()
            if standing.failures > 0
            or standing.failing_since is not None
            or standing.announced != "ok"
        }

    def failed(self, agency: str, n: int, first_at: float, now: float) -> Standing:
        current = self.state.standings.get(agency)
        if current is None:
            return self._put(Standing(agency, failures=n, failing_since=first_at))
        since = first_at if current.failing_since is None else current.failing_since
        return self._put(replace(current, failures=current.failures + n, failing_since=since))

    def delivered(self, agency: str, now: float) -> None:
        self._change(agency, failures=0, failing_since=None)

    def announce(self, agency: str, to: str, only_from: tuple[str, ...], now: float) -> bool:
        current = self.state.standings.get(agency)
        if current is None or current.announced not in only_from:
            return False
        self._put(replace(current, announced=to))
        return True

    def dead_lettered(self, agency: str, n: int, now: float, interval: float) -> int:
        current = self.state.standings.get(agency) or Standing(agency)
        pending = current.exhausted_unreported + n
        last = current.exhausted_at
        if last is None or last <= now - interval:
            self._put(replace(current, exhausted_at=now, exhausted_unreported=0))
            return pending
        self._put(replace(current, exhausted_unreported=pending))
        return 0

    def resumed(self, agency: str, now: float) -> None:
        self._change(agency, failures=0, failing_since=None)
        self.announce(agency, "resumed", ("disabled",), now)

    def _put(self, standing: Standing) -> Standing:
        self.state.standings[standing.agency] = standing
        return standing

    def _change(self, agency: str, **values: Any) -> None:
        """Change an agency's standing if it has one (an UPDATE that may match no row)."""
        current = self.state.standings.get(agency)
        if current is not None:
            self._put(replace(current, **values))
