"""What a MemoryStore holds: the rows of every table, copied per unit of work.

Rows are frozen records: a change replaces a row, never edits it. So a unit of work runs on
`copy()` (new containers over the same rows) and is either swapped in whole when it ends, or
dropped when it raises: the atomicity of a transaction, without an undo log.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from gateway.domain.audit import AuditRecord
from gateway.domain.messages import Handoff, HandoffState
from gateway.service.audit import GENESIS
from gateway.service.ports.crypto import KeyRecord
from gateway.service.ports.store import AgencyState, Standing, Watch

QUEUED = frozenset({HandoffState.pending, HandoffState.in_flight})


class DuplicateKey(Exception):
    """A row whose key is already taken (the SQL store raises its driver's IntegrityError)."""


@dataclass(frozen=True)
class OrderRow:
    """A `work_orders` row: the order as JSON text plus the columns kept beside it."""

    id: str
    origin: str
    flow_id: str
    document: str
    last_update_at: float
    created_at: float


@dataclass(frozen=True)
class HandoffRow:
    """A `handoffs` row: the handoff plus its lease and delivery bookkeeping."""

    seq: int
    handoff: Handoff
    lease_until: float | None = None
    lease_owner: str | None = None
    last_status: int | None = None
    agency_ref: str | None = None
    delivered_at: float | None = None

    @property
    def queued(self) -> bool:
        return self.handoff.state in QUEUED


@dataclass(frozen=True)
class WatchRow:
    """A `watches` row."""

    watch: Watch
    state: str  # armed | fired | settled
    fired_at: float | None = None


WatchKey = tuple[str, str, str, str]  # order_id, kind, level, agency


@dataclass
class MemoryState:
    """Every table of the store, in plain containers."""

    orders: dict[str, OrderRow] = field(default_factory=dict)
    order_keys: dict[tuple[str, str], str] = field(default_factory=dict)  # (origin, flow_id)
    handoffs: dict[str, HandoffRow] = field(default_factory=dict)  # in seq order
    last_handoff_seq: int = 0
    inbound: set[tuple[str, str]] = field(default_factory=set)
    inbound_bodies: dict[tuple[str, str], bytes] = field(default_factory=dict)
    inbound_received: dict[tuple[str, str], float] = field(default_factory=dict)
    agencies: dict[str, AgencyState] = field(default_factory=dict)
    standings: dict[str, Standing] = field(default_factory=dict)
    audit: list[AuditRecord] = field(default_factory=list)
    cursors: dict[str, str] = field(default_factory=dict)
    watches: dict[WatchKey, WatchRow] = field(default_factory=dict)
    keys: dict[tuple[str, str], KeyRecord] = field(default_factory=dict)
    revoked_sessions: dict[str, float] = field(default_factory=dict)  # nonce → expires_at
    probes: dict[str, float] = field(default_factory=dict)  # node → last probe

    def copy(self) -> MemoryState:
        """New containers over the same (immutable) rows: what one unit of work changes."""
        return MemoryState(**{name: copy.copy(value) for name, value in vars(self).items()})

    @property
    def audit_head(self) -> tuple[int, str]:
        """The last entry's sequence number and hash (the head row of the SQL store)."""
        if not self.audit:
            return 0, GENESIS
        last = self.audit[-1]
        return last.seq, last.entry_hash
