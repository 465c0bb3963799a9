"""The evidence bundle of one work order: its shape, and the exact bytes of its file.

A bundle is one JSON file: `{"bundle": {...}, "seal": {...}}`. The bundle holds the
order's audit entries as stored (each with the hashes that chain it), the messages they
name (digests and signatures), an RFC 9162 inclusion proof tying each entry to a signed
checkpoint, those checkpoints, and the public keys needed. The seal is the checkpoint
key's Ed25519 signature over the bundle's canonical JSON. The file is written in one
deterministic layout (`bundle_text`), so a verifier can insist on it byte for byte.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gateway.domain.personal import SIGNED_DETAIL

FORMAT = "lianxin-evidence/2"

#: the key of an inbound entry's detail that holds what re-verifies the sender's signature
SIGNED = SIGNED_DETAIL
STANDARD_WEBHOOKS = "standard-webhooks"
#: a message the transport carried with no signature of its sender
UNSIGNED = "none"


def signed_block(
    msg_id: str, timestamp: int, header: str, key_id: str, body_sha256: str
) -> dict[str, Any]:
    """What an inbound entry keeps of a Standard Webhooks signature: with the body (kept
    apart, it may hold personal data) it checks again offline, over `{id}.{timestamp}.{body}`."""
    return {
        "scheme": STANDARD_WEBHOOKS,
        "id": msg_id,
        "timestamp": timestamp,
        "signature": header,
        "key_id": key_id,
        "body_sha256": body_sha256,
    }


def unsigned_block(why: str, body_sha256: str | None) -> dict[str, Any]:
    """What an inbound entry says of a message its transport carried unsigned."""
    return {"scheme": UNSIGNED, "why": why, "body_sha256": body_sha256}


#: what a bundle says of a received message whose entry keeps no signature material
UNRECORDED = unsigned_block(
    "no sender signature is on record for this message: the hotline platform's API calls "
    "are authenticated by bearer token, not signed, and messages received before "
    "migration 0014 kept none",
    None,
)


def sender_signature(detail: str, inbound: bool) -> dict[str, Any] | None:
    """A listed message's `signed`: its entry's block; for a received message with none,
    UNRECORDED (said explicitly, never left out); None for our own messages."""
    recorded = signed_of(detail)
    if recorded is None and inbound:
        return UNRECORDED
    return recorded


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class EntryJson(_Strict):
    """An audit entry exactly as stored and hashed."""

    seq: int = Field(ge=1)
    at_us: int
    event: str
    order_id: str | None
    handoff_id: str | None
    party: str | None
    payload_digest: str | None
    signature: str | None
    detail: str
    prev_hash: str
    entry_hash: str


class MessageJson(_Strict):
    """A message sent or received for the order, by digest, with its signature if any."""

    seq: int  # the entry that records it
    event: str
    direction: str  # "out" (ours to an agency or the hotline) or "in"
    party: str | None
    handoff_id: str | None
    message_id: str | None  # the sender's webhook-id, for messages received
    payload_digest: str | None
    signature: str | None
    #: inbound: the sender's signature material as the entry records it (`signed_block`,
    #: or `unsigned_block` when the transport carried none); None for our own messages
    signed: dict[str, Any] | None
    #: base64 of the exact bytes the sender signed; only in `personal_data: "plain"` bundles
    body: str | None


def signed_of(detail: str) -> dict[str, Any] | None:
    """The `signed` block an entry's detail (canonical JSON) holds, if any."""
    try:
        value = json.loads(detail)
    except ValueError:
        return None
    found = value.get(SIGNED) if isinstance(value, dict) else None
    return found if isinstance(found, dict) else None


def message_id_of(detail: str) -> str | None:
    """The `msg_id` an entry's detail (canonical JSON) names, if any."""
    try:
        value = json.loads(detail)
    except ValueError:
        return None
    found = value.get("msg_id") if isinstance(value, dict) else None
    return found if isinstance(found, str) else None


class ProofJson(_Strict):
    """Entry `seq` is leaf `index` of checkpoint `checkpoint`'s tree: the audit path."""

    seq: int
    checkpoint: int
    index: int = Field(ge=0)
    path: list[str]


class StatementJson(_Strict):
    """A checkpoint statement (see gateway/domain/checkpoint.py)."""

    number: int = Field(ge=1)
    first: int
    last: int
    head: str
    root: str
    previous: str
    at_us: int
    key_id: str
    algorithm: str


class CheckpointJson(_Strict):
    """A signed checkpoint, with its RFC 3161 time-stamp when there is one."""

    statement: StatementJson
    signature: str
    public_key: str
    timestamp: str | None


class Bundle(_Strict):
    """What the seal covers."""

    format: str
    order_id: str
    exported_at: str
    exported_by: str
    #: "masked": entries hold digests and masked text only; "plain": the same, plus the
    #: bodies of received messages (they may hold personal data), so signatures re-verify
    personal_data: str
    entries: list[EntryJson]
    messages: list[MessageJson]
    proofs: list[ProofJson]
    checkpoints: list[CheckpointJson]
    witnesses: list[str]
    keys: dict[str, list[str]]  # party → whpk_ keys its message signatures check with


class Seal(_Strict):
    """The checkpoint key's signature over the bundle's canonical JSON."""

    algorithm: str
    key_id: str
    public_key: str
    signature: str


class SealedBundle(_Strict):
    """The whole file."""

    bundle: Bundle
    seal: Seal


def bundle_text(document: dict[str, Any]) -> str:
    """The one layout a bundle file is written in: sorted keys, one-space indents."""
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
