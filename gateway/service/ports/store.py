"""Store ports: the repositories of one unit of work, and the store that runs them.

A unit of work is one transaction: everything a step writes (order, handoffs, audit
entries, de-duplication marks) commits together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from gateway.domain.audit import AuditEvent, AuditRecord
from gateway.domain.messages import Handoff, Lane, Receipt
from gateway.domain.workorder import WorkOrder
from gateway.service.ports.crypto import KeyRecord
from gateway.service.ports.queries import AgencyActivities, HandoffQueries

T = TypeVar("T")


@dataclass(frozen=True)
class StoredOrder:
    """A work order with the bookkeeping the store keeps beside it."""

    order: WorkOrder
    last_update_at: float  # no longer written (legality goes by assignments): always 0.0
    created_at: float


OrderKey = tuple[str, str]  # (origin, flow id): an order as the system it came from knows it


class Orders(Protocol):
    def find(self, origin: str, flow_id: str) -> StoredOrder | None: ...
    def get(self, order_id: str) -> StoredOrder | None: ...
    # `document`: the order's `model_dump(mode="json")` when the caller has made it (read,
    # not changed), so the store need not dump the order again
    def add(self, order: WorkOrder, now: float, document: dict[str, Any] | None = None) -> None: ...
    def replace(self, order: WorkOrder) -> None: ...
    def read_ahead(self, order_ids: Iterable[str]) -> None:
        """Read (and lock, where readers lock) the orders this unit of work is about to
        `get`, in one statement, which may wait to go with the next statement sent (one
        round trip for both, on PostgreSQL): each one's next `get` takes what this read,
        unless the unit wrote it since. Only fewer statements: `get` answers the same
        either way."""
        ...


@dataclass(frozen=True, slots=True)
class Delivered:
    """A receipt to record on its handoff, if the attempt's `claim` still holds it."""

    handoff_id: str
    claim: str | None
    at: float
    receipt: Receipt


class Handoffs(Protocol):
    """The outbox: handoffs written with their order, claimed by workers, their outcomes."""

    #: the lane of each handoff added through this repository, in the order added: the
    #: lanes a unit of work's caller wakes after its commit (`outbox.lanes_queued`)
    queued_lanes: list[Lane]

    def add(self, handoff: Handoff) -> None: ...
    def claim(
        self,
        now: float,
        quotas: Mapping[str, int],
        lane: Lane,
        lease_until: float,
        owner: str,
        limit: int | None = None,
    ) -> list[Handoff]:
        """Lease due handoffs: at most `quotas[agency]` of each agency and `limit` in all
        (shared out in turns, `gateway.domain.messages.in_turns`), none of an agency
        that is held (disabled or paused: `Agencies.held`)."""
        ...

    # A delivery attempt's outcome is written only while its claim still holds the
    # handoff (checked in the same statement); each returns whether it was written.
    def delivered(
        self, handoff_id: str, claim: str | None, now: float, receipt: Receipt
    ) -> bool: ...
    def delivered_all(self, receipts: Sequence[Delivered]) -> set[tuple[str, str]]:
        """Record each receipt whose claim still holds its handoff, all in one statement
        (a batch of outcomes: one round trip on PostgreSQL); the (handoff id, claim) of
        each recorded (a batch may hold a stale attempt beside the one that holds)."""
        ...

    def reschedule(
        self, handoff_id: str, claim: str | None, at: float, error: str, status: int | None
    ) -> bool: ...
    def dead(self, handoff_id: str, claim: str | None, error: str, status: int | None) -> bool: ...
    def cancel_pending(self, order_id: str, agency: str, why: str) -> int:
        """Cancel the order's handoffs to `agency` not yet taken (a 改派 withdrew them)."""
        ...

    def revive(self, ids: Iterable[str], now: float) -> int:
        """Set dead handoffs back to pending, due now, attempts 0; how many were dead."""
        ...


class Inbound(Protocol):
    def remember(self, party: str, message_id: str, now: float, body: bytes | None = None) -> bool:
        """Record a message id, and the bytes its sender signed (kept sealed, for evidence);
        False when that party already sent it."""
        ...


@dataclass(frozen=True)
class AgencyState:
    """An agency's operating state: disabled (its endpoint answered 410) or paused by hand."""

    agency: str
    disabled: bool = False
    paused: bool = False
    reason: str | None = None
    changed_by: str | None = None
    updated_at: float = 0.0


class Agencies(Protocol):
    def disable(self, agency: str, reason: str, now: float) -> None: ...
    def disabled(self) -> set[str]: ...
    def pause(self, agency: str, by: str, reason: str, now: float) -> None: ...
    def enable(self, agency: str, by: str, now: float) -> None:
        """Clear both the pause and the disabled mark."""
        ...

    def held(self) -> set[str]:
        """Agencies that get no deliveries now: disabled or paused."""
        ...

    def states(self) -> dict[str, AgencyState]: ...


@dataclass(frozen=True)
class Standing:
    """An agency's recent deliveries as its alerts see them (operations/agency_alerts.py)."""

    agency: str
    announced: str = "ok"  # ok | failing | disabled | resumed (disabled, then resumed)
    failures: int = 0  # in a row, since the last delivery
    failing_since: float | None = None
    exhausted_at: float | None = None
    exhausted_unreported: int = 0


class Standings(Protocol):
    """Failures in a row and the alert last raised, per agency, shared by every process."""

    def unsettled(self) -> dict[str, Standing]:
        """Agencies with failures on record or an alert other than `ok` standing."""
        ...

    def read_ahead(self) -> None:
        """The next `unsettled` of this unit of work may be read with the next statement
        sent (one round trip less on PostgreSQL). Only fewer round trips: `unsettled`
        answers the same either way."""
        ...

    def failed(self, agency: str, n: int, first_at: float, now: float) -> Standing:
        """Count `n` more failures in a row (the first at `first_at`); the new record."""
        ...

    def delivered(self, agency: str, now: float) -> None:
        """A delivery went through: no failures in a row any more."""
        ...

    def announce(self, agency: str, to: str, only_from: tuple[str, ...], now: float) -> bool:
        """Set the standing alert to `to` if it is one of `only_from`; False if it was not
        (another process or an earlier batch announced it already)."""
        ...

    def dead_lettered(self, agency: str, n: int, now: float, interval: float) -> int:
        """Count `n` dead letters; how many to report now (0 within `interval` of the last)."""
        ...

    def resumed(self, agency: str, now: float) -> None:
        """An operator resumed the agency: failures forgotten, `disabled` now `resumed`."""
        ...


class Cursors(Protocol):
    """Where each polled board was read up to (its own opaque cursor)."""

    def get(self, party: str) -> str | None: ...
    def save(self, party: str, cursor: str, now: float) -> None: ...


@dataclass(frozen=True)
class Watch:
    """A deadline to watch: when `due_at` passes unanswered, an alert of `level` is raised."""

    order_id: str
    kind: str  # acknowledge | resolve | emergency_ack
    level: str  # a deadline card's colour (yellow, red, … per policy) | escalation
    due_at: float
    agency: str = ""  # for emergency_ack: the agency that must answer


class Watches(Protocol):
    def arm(self, *watches: Watch) -> None: ...
    def fire_due(self, now: float, limit: int) -> list[Watch]: ...
    def settle(self, order_id: str, kinds: Iterable[str], agency: str | None = None) -> int: ...
    def for_order(self, order_id: str) -> list[tuple[Watch, str]]: ...


class Retention(Protocol):
    """Erases personal data from old orders and their delivered handoffs."""

    def due_for_purge(self, created_before: float, limit: int) -> list[str]:
        """Ids of orders created before then, never purged, with no handoff still queued."""
        ...

    def erase_order(self, order_id: str) -> list[str]:
        """Blank the caller's personal fields; the names of those that held a value."""
        ...

    def erase_bodies(self, order_id: str) -> int:
        """Empty the bodies of the order's settled handoffs; how many were emptied."""
        ...

    def erase_received_bodies(self, received_before: float) -> int:
        """Drop the kept bodies of messages received before then (evidence); how many."""
        ...


class Keys(Protocol):
    def of(self, owner: str) -> list[KeyRecord]: ...
    def all(self) -> list[KeyRecord]: ...
    def add(self, record: KeyRecord) -> None: ...
    def retire_others(self, owner: str, keep: str, at: float) -> list[str]: ...
    def retire_due(self, now: float) -> list[KeyRecord]: ...


class AuditLog(Protocol):
    def append(self, event: AuditEvent) -> None: ...
    def for_order(self, order_id: str) -> list[AuditRecord]: ...


class AuditChain(Protocol):
    """Links an event onto the chain: its time, its masked detail, its hash.

    The service layer fills this (`gateway.service.audit.Chain`, on the injected clock);
    the store only keeps the records it is handed, in order, and the head row.
    """

    def link(self, seq: int, prev_hash: str, event: AuditEvent) -> AuditRecord: ...


class Security(Protocol):
    """Revoked console sessions, and the row readiness rewrites to prove writes work."""

    def revoke_session(self, nonce: str, expires_at: float, now: float) -> None: ...
    def session_revoked(self, nonce: str) -> bool: ...
    def probe_write(self, node: str, now: float) -> None: ...
    def open_newest_sealed(self) -> None: ...


class UnitOfWork(Protocol):
    """The repositories of one transaction."""

    @property
    def orders(self) -> Orders: ...
    @property
    def handoffs(self) -> Handoffs: ...
    @property
    def handoff_queries(self) -> HandoffQueries: ...
    @property
    def inbound(self) -> Inbound: ...
    @property
    def agencies(self) -> Agencies: ...
    @property
    def standings(self) -> Standings: ...
    @property
    def audit(self) -> AuditLog: ...
    @property
    def cursors(self) -> Cursors: ...
    @property
    def watches(self) -> Watches: ...
    @property
    def keys(self) -> Keys: ...
    @property
    def retention(self) -> Retention: ...
    @property
    def activity(self) -> AgencyActivities: ...
    @property
    def security(self) -> Security: ...


class Store(Protocol):
    """Runs a function inside one transaction, off the event loop."""

    async def write(
        self,
        work: Callable[[UnitOfWork], T],
        urgent: bool = False,
        audited: bool = True,
        looks_up: OrderKey | None = None,
    ) -> T:
        """Run `work` in one transaction; its result once committed. `urgent` goes ahead
        of what is not; work not `audited` appends no audit entry. `looks_up`: the flow
        whose order `work` will `find` first (an intake's), which the store may look up
        together with those of other work queued beside it: fewer statements, the same
        answers."""
        ...

    async def read(self, work: Callable[[UnitOfWork], T]) -> T: ...
    def audit_records(self) -> Iterator[AuditRecord]: ...
    def audit_head(self) -> tuple[int, str]: ...
    async def settle(self) -> None: ...
    async def aclose(self) -> None: ...


class WriteHealth(Protocol):
    """Whether the store's writes go through (readiness, the alert log and metrics read it)."""

    @property
    def refusing(self) -> bool: ...
    @property
    def refused_writes(self) -> int: ...


class RunningStore(Store, Protocol):
    """The store a running gateway holds: the Store port, plus what its health views ask."""

    @property
    def write_health(self) -> WriteHealth: ...
    def schema_lag(self) -> str | None:
        """Why the database's schema is not the one this code expects; None when it is."""
        ...
