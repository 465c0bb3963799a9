"""The audit trail's hash chain: how entries are linked, and how the chain is checked.

Each entry's hash covers its own fields and the previous entry's hash, and the
store keeps the last sequence number and hash in a head row. So an edited entry no
longer matches its hash, a deleted or inserted one breaks the numbering and the link,
a moved one breaks the links around it, and a cut tail no longer matches the head.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from json.encoder import encode_basestring
from operator import attrgetter, itemgetter
from typing import Any

from gateway.domain.audit import GENESIS as GENESIS
from gateway.domain.audit import AuditEvent, AuditRecord
from gateway.domain.audit import ChainRow as ChainRow
from gateway.domain.audit import StoredEntries as StoredEntries
from gateway.domain.personal import mask_detail, may_hold_personal
from gateway.service.json_codec import canonical_json as canonical_json

#: the fields an entry's hash covers besides prev, seq and at, in `entry_content`'s order
HASHED_ORDER = ("event", "order_id", "handoff_id", "party", "payload_digest", "signature", "detail")
HASHED_KEYS = frozenset(HASHED_ORDER)
_hashed_values = itemgetter(*HASHED_ORDER)
as_row = attrgetter(
    "seq",
    "at_us",
    "event",
    "order_id",
    "handoff_id",
    "party",
    "payload_digest",
    "signature",
    "detail",
    "prev_hash",
    "entry_hash",
)


def digest(data: bytes | str) -> str:
    """sha256 hex of bytes, or of a string's UTF-8."""
    raw = data.encode() if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()


def entry_hash(prev_hash: str, seq: int, at_us: int, fields: dict[str, str | None]) -> str:
    """The hash that links an entry with number `seq` onto `prev_hash`."""
    if fields.keys() != HASHED_KEYS:  # not an entry's usual fields: the general form
        return digest(canonical_json({"prev": prev_hash, "seq": seq, "at": at_us, **fields}))
    return digest(entry_content(prev_hash, seq, at_us, *_hashed_values(fields)))


def entry_content(
    prev_hash: str,
    seq: int,
    at_us: int,
    event: str | None,
    order_id: str | None,
    handoff_id: str | None,
    party: str | None,
    payload_digest: str | None,
    signature: str | None,
    detail: str | None,
) -> str:
    """What an entry's hash covers: `canonical_json` of its fields, byte for byte.

    Written out in sorted key order with json's own C string encoder: sorting and
    dumping a dict per entry was most of what verifying cost. Values of any other type
    (a tampered SQLite column can hold anything) go the general way.
    """
    values = (event, order_id, handoff_id, party, payload_digest, signature, detail)
    if type(seq) is not int or type(at_us) is not int:  # bool, float, text: json's forms
        return _general_content(prev_hash, seq, at_us, values)
    try:
        return (
            f'{{"at":{at_us},"detail":{_quote(detail)},"event":{_quote(event)},'
            f'"handoff_id":{_quote(handoff_id)},"order_id":{_quote(order_id)},'
            f'"party":{_quote(party)},"payload_digest":{_quote(payload_digest)},'
            f'"prev":{_quote(prev_hash)},"seq":{seq},"signature":{_quote(signature)}}}'
        )
    except TypeError:  # a value that is neither text nor None
        return _general_content(prev_hash, seq, at_us, values)


def _quote(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def _general_content(prev_hash: Any, seq: Any, at_us: Any, values: tuple[Any, ...]) -> str:
    fields = dict(zip(HASHED_ORDER, values, strict=True))
    return canonical_json({"prev": prev_hash, "seq": seq, "at": at_us, **fields})


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


class Chain:
    """Links each audit event onto the chain (the `AuditChain` port the store is given).

    The time is the injected clock's; the detail is masked (no phone number or ID in
    clear) and written as canonical JSON; the hash covers both and the previous entry's
    hash. The store keeps what it is handed, in order, and never hashes.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock

    def link(self, seq: int, prev_hash: str, event: AuditEvent) -> AuditRecord:
        """The record that follows entry `seq - 1`, whose hash was `prev_hash`."""
        at_us = int(self.clock() * 1_000_000)
        kind = str(event.event)  # an AuditKind is stored as its text
        detail = masked_detail_text(event.detail)
        content = entry_content(
            prev_hash,
            seq,
            at_us,
            kind,
            event.order_id,
            event.handoff_id,
            event.party,
            event.payload_digest,
            event.signature,
            detail,
        )
        return AuditRecord(
            seq=seq,
            at_us=at_us,
            event=kind,
            order_id=event.order_id,
            handoff_id=event.handoff_id,
            party=event.party,
            payload_digest=event.payload_digest,
            signature=event.signature,
            detail=detail,
            prev_hash=prev_hash,
            entry_hash=digest(content),
        )


def masked_detail_text(detail: dict[str, Any]) -> str:
    """An entry's detail as stored and hashed: `canonical_json` of it masked (no phone
    number or ID in clear; a signed block stays as sent). Most details hold nothing to
    mask (digests, ids, codes), and their text is the unmasked one's, so that is written
    first and masked only if it may hold something: walking every string of every
    detail was most of what linking an entry cost."""
    text = canonical_json(detail)
    if may_hold_personal(text):
        return canonical_json(mask_detail(detail))
    return text


@dataclass(frozen=True)
class ChainReport:
    """The outcome of checking the chain: ok, or the first entry found wrong and why."""

    entries: int
    ok: bool
    seq: int | None = None
    problem: str | None = None


def verify_chain(records: Iterable[AuditRecord], head: tuple[int, str]) -> ChainReport:
    """Walk the chain in sequence order and name the first entry that does not fit."""
    if isinstance(records, StoredEntries):
        return verify_rows(records.rows, head)
    return verify_rows(map(as_row, records), head)


def verify_rows(rows: Iterable[ChainRow], head: tuple[int, str]) -> ChainReport:
    """`verify_chain` over rows holding an AuditRecord's fields in declaration order."""
    prev, expected_seq, count = GENESIS, 1, 0
    for seq, at_us, *hashed, prev_hash, stored_hash in rows:
        count += 1
        if seq != expected_seq:
            return _misnumbered(count, seq, expected_seq)
        if prev_hash != prev:
            return ChainReport(count, False, seq, "link to the previous entry is broken")
        if digest(entry_content(prev, seq, at_us, *hashed)) != stored_hash:
            return ChainReport(count, False, seq, "content does not match its hash")
        prev, expected_seq = stored_hash, expected_seq + 1
    head_seq, head_hash = head
    if head_seq != expected_seq - 1 or head_hash != prev:
        return ChainReport(
            count,
            False,
            head_seq,
            f"chain ends at entry {expected_seq - 1} but the head records entry {head_seq}",
        )
    return ChainReport(count, True)


def _misnumbered(count: int, seq: int, expected_seq: int) -> ChainReport:
    missing = seq > expected_seq
    why = f"entry {expected_seq} is missing" if missing else "an entry was inserted"
    return ChainReport(count, False, seq, f"{why} (found seq {seq})")
