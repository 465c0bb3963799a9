"""The audit trail's hash chain: how entries are linked, and how the chain is checked.

Each entry's hash covers its own fields and the previous entry's hash, and the
store keeps the last sequence number and hash in a head row. So an edited entry no
longer matches its hash, a deleted or inserted one breaks the numbering and the link,
a moved one breaks the links around it, and a cut tail no longer matches the head.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gateway.service.ports import AuditRecord

GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(data: bytes | str) -> str:
    """sha256 hex of bytes, or of a string's UTF-8."""
    raw = data.encode() if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()


def entry_hash(prev_hash: str, seq: int, at_us: int, fields: dict[str, str | None]) -> str:
    """The hash that links an entry with number `seq` onto `prev_hash`."""
    content = canonical_json({"prev": prev_hash, "seq": seq, "at": at_us, **fields})
    return digest(content)


def hashed_fields(record: AuditRecord) -> dict[str, str | None]:
    """The fields of a stored record that its hash covers (besides prev, seq and at)."""
    return {
        "event": record.event,
        "order_id": record.order_id,
        "handoff_id": record.handoff_id,
        "party": record.party,
        "payload_digest": record.payload_digest,
        "signature": record.signature,
        "detail": record.detail,
    }


@dataclass(frozen=True)
class ChainReport:
    """The outcome of checking the chain: ok, or the first entry found wrong and why."""

    entries: int
    ok: bool
    seq: int | None = None
    problem: str | None = None


def verify_chain(records: Iterable[AuditRecord], head: tuple[int, str]) -> ChainReport:
    """Walk the chain in sequence order and name the first entry that does not fit."""
    prev, expected_seq, count = GENESIS, 1, 0
    for record in records:
        count += 1
        if record.seq != expected_seq:
            missing = record.seq > expected_seq
            why = f"entry {expected_seq} is missing" if missing else "an entry was inserted"
            return ChainReport(count, False, record.seq, f"{why} (found seq {record.seq})")
        if record.prev_hash != prev:
            return ChainReport(count, False, record.seq, "link to the previous entry is broken")
        recomputed = entry_hash(prev, record.seq, record.at_us, hashed_fields(record))
        if recomputed != record.entry_hash:
            return ChainReport(count, False, record.seq, "content does not match its hash")
        prev, expected_seq = record.entry_hash, expected_seq + 1
    head_seq, head_hash = head
    if head_seq != expected_seq - 1 or head_hash != prev:
        return ChainReport(
            count,
            False,
            head_seq,
            f"chain ends at entry {expected_seq - 1} but the head records entry {head_seq}",
        )
    return ChainReport(count, True)
