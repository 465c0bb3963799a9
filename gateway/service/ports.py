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
from gateway.domain.states import Status
from gateway.domain.workorder import WorkOrder

T = TypeVar("T")


@dataclass(frozen=True)
class StoredOrder:
    """A work order with the bookkeeping the store keeps beside it."""

    order: WorkOrder
    last_update_at: float  # occurred_at of the last applied agency update (stale check)
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


class Orders(Protocol):
    def find(self, origin: str, flow_id: str) -> StoredOrder | None: ...
    def get(self, order_id: str) -> StoredOrder | None: ...
    def add(self, order: WorkOrder, now: float) -> None: ...
    def replace(self, order: WorkOrder) -> None: ...
    def set_status(self, order_id: str, status: Status, last_update_at: float | None) -> None: ...


class Handoffs(Protocol):
    def add(self, handoff: Handoff) -> None: ...
    def claim(
        self, now: float, quotas: Mapping[str, int], lane: Lane, lease_until: float, owner: str
    ) -> list[Handoff]: ...
    def delivered(self, handoff_id: str, now: float, receipt: Receipt) -> None: ...
    def reschedule(self, handoff_id: str, at: float, error: str, status: int | None) -> None: ...
    def dead(self, handoff_id: str, error: str, status: int | None) -> None: ...
    def for_order(self, order_id: str) -> list[HandoffView]: ...
    def count_by_state(self) -> dict[str, int]: ...


class Inbound(Protocol):
    def remember(self, party: str, message_id: str, now: float) -> bool:
        """Record a message id; False when that party already sent it."""
        ...


class Agencies(Protocol):
    def disable(self, agency: str, reason: str, now: float) -> None: ...
    def disabled(self) -> set[str]: ...


class Cursors(Protocol):
    """Where each polled board was read up to (its own opaque cursor)."""

    def get(self, party: str) -> str | None: ...
    def save(self, party: str, cursor: str, now: float) -> None: ...


@dataclass(frozen=True)
class Watch:
    """A deadline to watch: when `due_at` passes unanswered, an alert of `level` is raised."""

    order_id: str
    kind: str  # acknowledge | resolve | emergency_ack
    level: str  # yellow | red | escalation
    due_at: float
    agency: str = ""  # for emergency_ack: the agency that must answer


class Watches(Protocol):
    def arm(self, watch: Watch) -> None: ...
    def fire_due(self, now: float, limit: int) -> list[Watch]: ...
    def settle(self, order_id: str, kinds: Iterable[str], agency: str | None = None) -> int: ...
    def for_order(self, order_id: str) -> list[tuple[Watch, str]]: ...


class AuditLog(Protocol):
    def append(self, event: AuditEvent) -> None: ...
    def for_order(self, order_id: str) -> list[AuditRecord]: ...


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
    def audit(self) -> AuditLog: ...
    @property
    def cursors(self) -> Cursors: ...
    @property
    def watches(self) -> Watches: ...


class Store(Protocol):
    """Runs a function inside one transaction, off the event loop."""

    async def write(self, work: Callable[[UnitOfWork], T], urgent: bool = False) -> T: ...
    async def read(self, work: Callable[[UnitOfWork], T]) -> T: ...
    def audit_records(self) -> Iterator[AuditRecord]: ...
    def audit_head(self) -> tuple[int, str]: ...
    async def aclose(self) -> None: ...


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
