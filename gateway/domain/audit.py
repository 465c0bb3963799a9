"""The audit trail's records: what a step puts on record, and an entry as the chain keeps it.

`AuditKind` names every kind of entry. It is a StrEnum, so the stored text of each kind is
its value, unchanged from when the kinds were free strings.

One unit of work writes one entry about one thing: a delivery attempt is one `delivered`
(or `failed`) entry naming the request's digest and signature; an intake is one `received`
entry naming its routing, deadlines and the handoffs it queued; a status change names the
callback it queued. Databases written before that keep the older, finer kinds (`routed`,
`deadlines_set`, `mapped`, `signed`, `sent`, `acknowledged`): nothing writes them on these
paths any more (`mapped` still on the others), and every reader takes both forms.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

#: the previous hash of the chain's first entry
GENESIS = "0" * 64


class AuditKind(StrEnum):
    """What an audit entry records."""

    received = "received"
    routed = "routed"
    supplemented = "supplemented"
    mapped = "mapped"
    signed = "signed"  # older databases: now inside `delivered` / `failed`
    sent = "sent"  # older databases: now inside `delivered` / `failed`
    acknowledged = "acknowledged"  # older databases: now `delivered`
    delivered = "delivered"
    failed = "failed"
    dead_lettered = "dead_lettered"
    retry_scheduled = "retry_scheduled"
    agency_disabled = "agency_disabled"
    agency_paused = "agency_paused"
    agency_resumed = "agency_resumed"
    alert_raised = "alert_raised"
    deadlines_set = "deadlines_set"
    refused = "refused"
    agency_receipt = "agency_receipt"
    replayed = "replayed"
    stale_outcome = "stale_outcome"
    refusals_summarised = "refusals_summarised"
    personal_data_purged = "personal_data_purged"
    key_rotated = "key_rotated"
    key_retired = "key_retired"
    status_applied = "status_applied"
    assignment_superseded = "assignment_superseded"
    assigned = "assigned"
    outdated = "outdated"
    progress = "progress"
    reply_held = "reply_held"
    assignment_returned = "assignment_returned"
    assist_update = "assist_update"
    supervised_automatically = "supervised_automatically"
    event_recorded = "event_recorded"
    extension_refused = "extension_refused"
    deadline_extended = "deadline_extended"


@dataclass(frozen=True)
class AuditEvent:
    """One step to put on record."""

    event: AuditKind
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


#: an AuditRecord's fields in declaration order: how the store hands entries to the check
ChainRow = tuple[
    int, int, str, str | None, str | None, str | None, str | None, str | None, str, str, str
]


class StoredEntries:
    """Entries as a store reads them: plain rows for the check, AuditRecords for the rest.

    Building an AuditRecord per entry costs about as much as hashing it, so
    `verify_chain` (gateway.service.audit) walks the rows themselves when handed one.
    """

    def __init__(self, rows: Iterator[ChainRow]) -> None:
        self.rows = rows

    def __iter__(self) -> Iterator[AuditRecord]:
        return (AuditRecord(*row) for row in self.rows)
