"""Agency health: how each agency's deliveries went over a recent window, and how it stands.

Integration admins read this (the `/admin` console, `GET /v1/admin/agencies`,
`lianxin agencies`) to see at a glance which agency is slow, failing, held or backed up.
Everything comes from the store in one read transaction through the UnitOfWork port,
except the circuit breakers, which live in each serving process and are passed in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.domain.errors import InputError
from gateway.domain.messages import HandoffState
from gateway.domain.personal import mask_text
from gateway.service.directory import Directory
from gateway.service.ports.queries import AgencyActivity
from gateway.service.ports.store import AgencyState, UnitOfWork

SAMPLE = 2000  # newest deliveries per agency whose latencies make p50/p99
MAX_WINDOW = 31 * 86_400.0
ERROR_CHARS = 160
NO_CIRCUIT = "off"


@dataclass(frozen=True)
class AgencyHealth:
    """One agency's delivery health over a window, and its state now.

    - `delivered`: handoffs delivered in the window (`delivered` audit entries, and
      `acknowledged` ones written before them).
    - `failed`: handoffs dead-lettered in the window (`dead_lettered` audit entries);
      attempts that failed and were rescheduled are not counted, they may still succeed.
      A handoff dead-lettered, replayed and dead-lettered again counts twice.
    - `success_rate`: delivered / (delivered + failed); None when both are 0.
    - `p50_ms`, `p99_ms`: delivery latency, `delivered_at − created_at` of the handoff:
      from the moment it was queued (order accepted, event or status recorded) to the
      agency's receipt, retries and waits included. Nearest-rank percentiles over the
      newest `SAMPLE` (2,000) deliveries of the agency in the window; None when none.
    - `backlog`: handoffs waiting now, `pending` or `in_flight`. `dead`: dead letters now.
    - `circuit`: `closed`, `half_open` or `open` in the process that asked; `off` when
      the agency has no breaker configured.
    - `last_error`, `last_error_at`: the newest failed attempt in the window (transient or
      not), phone and ID numbers masked, cut to 160 characters; None when none.
    - `returned`: orders (or 协办 parts) the agency sent back (退回) in the window: the
      "improper return" figure centres watch, each with its reason in the audit trail.
    """

    agency: str
    display_name: str
    delivered: int
    failed: int
    success_rate: float | None
    p50_ms: float | None
    p99_ms: float | None
    backlog: int
    dead: int
    circuit: str
    paused: bool
    disabled: bool
    last_error: str | None
    last_error_at: float | None
    returned: int = 0


def read_health(
    uow: UnitOfWork,
    directory: Directory,
    circuits: Mapping[str, str],
    now: float,
    window: float,
) -> list[AgencyHealth]:
    """The health of every profiled agency (hotline and alert channels included: they are
    delivered to as well) over the `window` seconds before `now`, sorted by agency id."""
    check_window(window)
    activity = uow.activity.since(now - window, SAMPLE)
    backlog, dead = _open_counts(uow.handoff_queries.open_counts())
    states = uow.agencies.states()
    return [
        _health(
            name,
            directory.profiles[name].name,
            activity.get(name, AgencyActivity()),
            (backlog.get(name, 0), dead.get(name, 0)),
            states.get(name, AgencyState(name)),
            circuits.get(name, NO_CIRCUIT),
        )
        for name in sorted(directory.profiles)
    ]


def check_window(window: float) -> None:
    """Refuse a window that is not a positive number of seconds up to 31 days."""
    if not math.isfinite(window) or not 0 < window <= MAX_WINDOW:
        raise InputError(
            f"the window must be more than 0 and at most {MAX_WINDOW:.0f} seconds (31 days)",
            window=window,
        )


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile (`share` in (0, 1]) of `values`; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def as_record(health: AgencyHealth) -> dict[str, Any]:
    """The JSON form: the same fields, `last_error_at` as ISO 8601 in UTC."""
    record = asdict(health)
    if health.last_error_at is not None:
        record["last_error_at"] = datetime.fromtimestamp(health.last_error_at, UTC).isoformat()
    return record


def _health(
    agency: str,
    display_name: str,
    seen: AgencyActivity,
    waiting: tuple[int, int],
    state: AgencyState,
    circuit: str,
) -> AgencyHealth:
    settled = seen.delivered + seen.dead_lettered
    p50, p99 = (percentile(seen.latencies, share) for share in (0.50, 0.99))
    return AgencyHealth(
        agency=agency,
        display_name=display_name,
        delivered=seen.delivered,
        failed=seen.dead_lettered,
        success_rate=seen.delivered / settled if settled else None,
        p50_ms=None if p50 is None else round(p50 * 1000, 1),
        p99_ms=None if p99 is None else round(p99 * 1000, 1),
        backlog=waiting[0],
        dead=waiting[1],
        circuit=circuit,
        paused=state.paused,
        disabled=state.disabled,
        last_error=_short(seen.last_error),
        last_error_at=seen.last_error_at,
        returned=seen.returned,
    )


def _open_counts(
    counts: Mapping[tuple[str, str, str], int],
) -> tuple[dict[str, int], dict[str, int]]:
    """(backlog, dead) per agency from the outbox's (state, agency, lane) counts."""
    backlog: dict[str, int] = {}
    dead: dict[str, int] = {}
    for (state, agency, _lane), n in counts.items():
        into = dead if state == HandoffState.dead.value else backlog
        into[agency] = into.get(agency, 0) + n
    return backlog, dead


def _short(error: str | None) -> str | None:
    if error is None:
        return None
    masked = " ".join(mask_text(error).split())
    return masked if len(masked) <= ERROR_CHARS else masked[: ERROR_CHARS - 1] + "…"
