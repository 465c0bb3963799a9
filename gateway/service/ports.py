"""The ports the service layer depends on; adapters in gateway/store and connectors/ fill them.

Service code is plain Python over these Protocols: it never imports SQLAlchemy, httpx,
zeep or paho. A unit of work is one transaction: everything a step writes (order,
handoffs, audit entries, de-duplication marks) commits together or not at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

from gateway.domain.messages import Delivery, Handoff, Lane, Receipt, Sign
from gateway.domain.workorder import WorkOrder

T = TypeVar("T")


@dataclass(frozen=True)
class StoredOrder:
    """A work order with the bookkeeping the store keeps beside it."""

    order: WorkOrder
    last_update_at: float  # no longer written (legality goes by assignments): always 0.0
    created_at: float


@dataclass(frozen=True)
class AuditEvent:
    """One step to put on record."""

    event: str
    order_id: str | None = None
    handoff_id: str | None = None
    party: str | None = None
    payload_digest: str | None = None
    signature: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditRecord:
    """An audit entry as stored, with its place and hashes in the chain."""

    seq: int
    at_us: int
    event: str
    order_id: str | None
    handoff_id: str | None
    party: str | None
    payload_digest: str | None
    signature: str | None
    detail: str  # canonical JSON, exactly as hashed
    prev_hash: str
    entry_hash: str


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


class Orders(Protocol):
    def find(self, origin: str, flow_id: str) -> StoredOrder | None: ...
    def get(self, order_id: str) -> StoredOrder | None: ...
    def add(self, order: WorkOrder, now: float) -> None: ...
    def replace(self, order: WorkOrder) -> None: ...


class Handoffs(Protocol):
    def add(self, handoff: Handoff) -> None: ...
    def claim(
        self, now: float, quotas: Mapping[str, int], lane: Lane, lease_until: float, owner: str
    ) -> list[Handoff]: ...
    # A delivery attempt's outcome is written only while its claim still holds the
    # handoff (checked in the same statement); each returns whether it was written.
    def delivered(
        self, handoff_id: str, claim: str | None, now: float, receipt: Receipt
    ) -> bool: ...
    def reschedule(
        self, handoff_id: str, claim: str | None, at: float, error: str, status: int | None
    ) -> bool: ...
    def dead(self, handoff_id: str, claim: str | None, error: str, status: int | None) -> bool: ...
    def cancel_pending(self, order_id: str, agency: str, why: str) -> int:
        """Cancel the order's handoffs to `agency` not yet taken (a 改派 withdrew them)."""
        ...
    def for_order(self, order_id: str) -> list[HandoffView]: ...
    def count_by_state(self) -> dict[str, int]: ...
    def dead_letters(
        self, which: DeadLetterFilter, after_seq: int, limit: int, upto_seq: int | None = None
    ) -> list[DeadLetter]:
        """Dead handoffs matching `which` with after_seq < seq ≤ upto_seq, in seq order."""
        ...

    def count_dead(self, which: DeadLetterFilter) -> int: ...
    def revive(self, ids: Iterable[str], now: float) -> int:
        """Set dead handoffs back to pending, due now, attempts 0; how many were dead."""
        ...

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
    """An agency's recent deliveries as its alerts see them (service/agency_alerts.py)."""

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


class DataCipher(Protocol):
    """Encrypts personal data at rest (AES-256-GCM today; an SM4-GCM keyring fits as well).

    `encrypt` returns text naming its scheme and key id, so older keys still decrypt after a
    rotation; `decrypt` raises SealedDataError for an unknown key or an altered value.
    `associated` binds a value to its place (order and field, or handoff).
    """

    def encrypt(self, plaintext: bytes, associated: bytes) -> str: ...
    def decrypt(self, value: str, associated: bytes) -> bytes: ...


@dataclass(frozen=True)
class KeyRecord:
    """A rotated key: `material` is an agency's key text, our own key sealed, or None for
    a key that is configured (environment, profile) and only tracked here to retire it."""

    owner: str  # "self" or an agency id
    key_id: str
    scheme: str
    material: str | None
    state: str  # active | retiring | retired
    created_at: float
    retire_at: float | None = None


class Keys(Protocol):
    def of(self, owner: str) -> list[KeyRecord]: ...
    def all(self) -> list[KeyRecord]: ...
    def add(self, record: KeyRecord) -> None: ...
    def retire_others(self, owner: str, keep: str, at: float) -> list[str]: ...
    def retire_due(self, now: float) -> list[KeyRecord]: ...


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


class AuditLog(Protocol):
    def append(self, event: AuditEvent) -> None: ...
    def for_order(self, order_id: str) -> list[AuditRecord]: ...


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
        self, work: Callable[[UnitOfWork], T], urgent: bool = False, audited: bool = True
    ) -> T: ...
    async def read(self, work: Callable[[UnitOfWork], T]) -> T: ...
    def audit_records(self) -> Iterator[AuditRecord]: ...
    def audit_head(self) -> tuple[int, str]: ...
    async def aclose(self) -> None: ...


class Metrics(Protocol):
    """What the dispatcher reports about each recorded attempt; an adapter exports it.

    `outcome` is `delivered`, `retry` (rescheduled), `dead` (dead-lettered) or `stale`
    (the attempt had lost its claim: nothing was recorded but a `stale_outcome` entry).
    """

    def attempt(self, agency: str, outcome: str, seconds: float) -> None: ...


class NoMetrics:
    """Metrics that go nowhere (tools and tests that do not export any)."""

    def attempt(self, agency: str, outcome: str, seconds: float) -> None:
        """Ignore the attempt."""


class Connector(Protocol):
    """One transport to one agency: deliver a signed message, get a receipt or an error."""

    async def deliver(self, delivery: Delivery) -> Receipt: ...
    async def aclose(self) -> None: ...


class InboundHandler(Protocol):
    """Where a transport hands a received message: verified, de-duplicated, applied.

    Raises a LianxinError subclass when the message is refused (already audited);
    the transport answers or counts it and keeps running.
    """

    async def __call__(self, agency: str, headers: Mapping[str, str], body: bytes) -> Any: ...


@runtime_checkable
class Listener(Protocol):
    """A connector that also receives: `listen` runs until cancelled.

    `sign(message_id, content)` signs what the transport sends back on its own (e.g. the
    receipts an MQTT sender waits for).
    """

    async def listen(self, handler: InboundHandler, sign: Sign) -> None: ...


class PulledHandler(Protocol):
    """Where a polling transport hands one message it pulled: parsed, de-duplicated, applied.

    No signature is checked (the transport authenticated its own request to the peer).
    Raises a LianxinError subclass when the message is refused (already audited).
    """

    async def __call__(
        self, agency: str, msg_id: str, body: bytes, parse: Callable[[bytes], Any]
    ) -> Any: ...


class BoardState(Protocol):
    """What a message-board transport keeps in the database between runs."""

    async def cursor(self, board: str) -> str | None:
        """Where polling resumes; None from the board's beginning."""
        ...

    async def advance(self, board: str, cursor: str) -> None:
        """Move the cursor; call only once the messages before it are committed."""
        ...

    async def reply_ref(self, board: str, order_id: str) -> str | None:
        """The board's id of the reply already posted for an order (for a correction)."""
        ...


@runtime_checkable
class Poller(Protocol):
    """A connector that pulls from its peer: `poll` runs until cancelled (or returns at once
    when the peer pushes instead); `state` also answers what was sent to the peer before."""

    async def poll(self, handler: PulledHandler, state: BoardState, sign: Sign) -> None: ...


WakeUp = Callable[[], None]
AsyncWork = Callable[[], Awaitable[None]]
