"""Query ports: what the console, health views and replay read (records and protocols)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from gateway.domain.messages import Handoff


@dataclass(frozen=True)
class HandoffView:
    """A handoff's state for timelines and admin views."""

    handoff: Handoff
    delivered_at: float | None
    agency_ref: str | None
    last_status: int | None


@dataclass(frozen=True)
class DeadLetterFilter:
    """Which dead-lettered handoffs an operator means: any field left empty matches all.

    `since`/`until` bound the handoff's `created_at` (epoch seconds, `until` exclusive).
    """

    agency: str | None = None
    since: float | None = None
    until: float | None = None
    handoff_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeadLetter:
    """A dead-lettered handoff as listed and replayed (no body: nothing to decrypt)."""

    seq: int
    id: str
    order_id: str
    agency: str
    kind: str
    lane: str
    attempts: int
    last_error: str | None
    last_status: int | None
    created_at: float


@dataclass(frozen=True)
class FailureQuery:
    """Failed deliveries an admin looks for: `state` is `dead`, `retrying` (still pending or
    in flight after a failed attempt) or `any` of both; `error` is a case-insensitive part of
    the last error text; `since`/`until` bound `created_at` (epoch seconds, `until` exclusive)."""

    state: str = "any"
    agency: str | None = None
    since: float | None = None
    until: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class FailedDelivery:
    """A handoff whose last attempt failed, as the console lists it."""

    seq: int
    id: str
    order_id: str
    agency: str
    state: str
    attempts: int
    last_error: str | None
    last_status: int | None
    created_at: float
    next_attempt_at: float
    title: str | None = None  # the work order's title; None for alerts and the like


class HandoffQueries(Protocol):
    """What the console, health and replay read about handoffs (no writes)."""

    def for_order(self, order_id: str) -> list[HandoffView]: ...
    def count_by_state(self) -> dict[str, int]: ...
    def dead_letters(
        self, which: DeadLetterFilter, after_seq: int, limit: int, upto_seq: int | None = None
    ) -> list[DeadLetter]:
        """Dead handoffs matching `which` with after_seq < seq ≤ upto_seq, in seq order."""
        ...

    def count_dead(self, which: DeadLetterFilter) -> int: ...
    def newest_seq(self) -> int: ...
    def failures(
        self, query: FailureQuery, before_seq: int | None, limit: int
    ) -> list[FailedDelivery]:
        """Failed handoffs matching `query` with seq < before_seq, newest first."""
        ...

    def count_failures(self, query: FailureQuery) -> int: ...
    def open_counts(self) -> dict[tuple[str, str, str], int]:
        """Pending, in-flight and dead handoffs counted by (state, agency, lane)."""
        ...


@dataclass(frozen=True)
class AgencyActivity:
    """What the store read about one agency's deliveries since a moment (health views)."""

    delivered: int = 0  # `acknowledged` audit entries since then
    latencies: tuple[float, ...] = ()  # delivered_at − created_at (s), newest deliveries first
    dead_lettered: int = 0  # `dead_lettered` audit entries since then
    last_error: str | None = None  # of the newest `failed` audit entry since then
    last_error_at: float | None = None
    returned: int = 0  # `assignment_returned` audit entries since then (退回, lead or 协办)


class AgencyActivities(Protocol):
    def since(self, since: float, sample: int) -> dict[str, AgencyActivity]:
        """Per agency with any: deliveries, dead-letterings and the newest failure since
        `since`, and the latencies of at most `sample` of the newest deliveries."""
        ...
