"""Refusals of unauthenticated messages: counted, logged within bounds, summarised on record.

Anyone can name an agency in a URL, so a message whose agency is unknown, whose client
certificate is missing or bound elsewhere, or whose signature does not verify proves
nothing about its sender. Putting each on the hash-chained audit trail would let an
anonymous caller grow permanent evidence at will. Instead each refusal is counted in
metrics, kept in a short in-memory list of recent refusals, and logged at most once per
party and error code per interval; and at most one `refusals_summarised` audit entry per
party per interval records the counts, codes, first and last seen. Unknown agency names
are all counted as the party "unknown": the name itself is never stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from gateway.domain.audit import AuditEvent, AuditKind
from gateway.service.ports.store import Store, UnitOfWork

log = logging.getLogger("lianxin.refusals")

UNKNOWN_PARTY = "unknown"
SUMMARY_EVENT = AuditKind.refusals_summarised


class RefusalMetrics(Protocol):
    """Where refusal counts are exported (Prometheus in the running gateway)."""

    def refused_unauthenticated(self, party: str, code: str) -> None: ...


@dataclass(frozen=True)
class Refusal:
    """One refused unauthenticated message, as kept in the recent list."""

    at: float
    party: str
    code: str
    body_digest: str


@dataclass
class _Tally:
    first_seen: float
    last_seen: float
    codes: Counter[str] = field(default_factory=Counter)

    @property
    def count(self) -> int:
        return sum(self.codes.values())


class RefusalSummary:
    """Counts unauthenticated refusals per party and writes one summary per party per interval."""

    def __init__(
        self,
        store: Store,
        clock: Callable[[], float],
        interval: float,
        metrics: RefusalMetrics | None = None,
        keep_recent: int = 256,
    ) -> None:
        self.store = store
        self.clock = clock
        self.interval = interval
        self.metrics = metrics
        self.recent: deque[Refusal] = deque(maxlen=keep_recent)
        self._tallies: dict[str, _Tally] = {}
        self._logged: set[tuple[str, str]] = set()

    def note(self, party: str, code: str, body_digest: str) -> None:
        """Count one refusal; log it only if it is the first of its kind this interval."""
        now = self.clock()
        tally = self._tallies.setdefault(party, _Tally(now, now))
        tally.last_seen = now
        tally.codes[code] += 1
        self.recent.append(Refusal(now, party, code, body_digest))
        if self.metrics is not None:
            self.metrics.refused_unauthenticated(party, code)
        if (party, code) not in self._logged:
            self._logged.add((party, code))
            log.warning("refused an unauthenticated message for %s: %s", party, code)

    @property
    def pending(self) -> dict[str, int]:
        """Refusals counted and not yet summarised on record, per party."""
        return {party: tally.count for party, tally in self._tallies.items()}

    async def flush(self) -> int:
        """Write one summary entry per party with refusals counted; the number written."""
        tallies, self._tallies, self._logged = self._tallies, {}, set()
        if not tallies:
            return 0
        entries = [_summary(party, tally, self.interval) for party, tally in tallies.items()]

        def append_all(uow: UnitOfWork) -> None:
            for entry in entries:
                uow.audit.append(entry)

        try:
            await self.store.write(append_all)
        except Exception:  # the counts stay in metrics and the log; try again next interval
            self._merge_back(tallies)
            raise
        for party, tally in tallies.items():
            log.warning("%d unauthenticated messages refused for %s", tally.count, party)
        return len(entries)

    async def run(self) -> None:
        """Flush every `interval` seconds until cancelled (then once more)."""
        try:
            while True:
                await asyncio.sleep(self.interval)
                await self._flush_logged()
        finally:
            await self._flush_logged()

    async def _flush_logged(self) -> None:
        try:
            await self.flush()
        except Exception:
            log.exception("could not write the refusal summary; kept for the next interval")

    def _merge_back(self, tallies: dict[str, _Tally]) -> None:
        for party, old in tallies.items():
            tally = self._tallies.setdefault(party, _Tally(old.first_seen, old.last_seen))
            tally.first_seen = min(tally.first_seen, old.first_seen)
            tally.last_seen = max(tally.last_seen, old.last_seen)
            tally.codes.update(old.codes)


def _summary(party: str, tally: _Tally, interval: float) -> AuditEvent:
    return AuditEvent(
        SUMMARY_EVENT,
        party=party,
        detail={
            "count": tally.count,
            "codes": dict(sorted(tally.codes.items())),
            "first_seen": _iso(tally.first_seen),
            "last_seen": _iso(tally.last_seen),
            "interval_seconds": interval,
        },
    )


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")
