"""A signed checkpoint of the audit trail: what it states, and the record witnesses keep.

A checkpoint covers the entries `first`..`last` (the ones since the previous checkpoint).
Its statement names their Merkle root (RFC 9162), the hash of its last entry (the head
of the chain at that point) and the digest of the previous checkpoint's statement, so
checkpoints chain as the entries do. The statement's canonical JSON bytes are what the
checkpoint key signs and what a time-stamping authority stamps.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

FIRST_PREVIOUS = "0" * 64
STATEMENT_VERSION = "lianxin-checkpoint/1"


def canonical_bytes(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: the bytes that are signed and digested."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode()


@dataclass(frozen=True)
class Statement:
    """What a checkpoint asserts about the chain."""

    number: int
    first: int
    last: int
    head: str  # entry_hash of entry `last`
    root: str  # RFC 9162 tree head over the entry hashes first..last
    previous: str  # digest of the previous checkpoint's statement
    at_us: int
    key_id: str
    algorithm: str

    def to_bytes(self) -> bytes:
        """The canonical bytes that are signed."""
        return canonical_bytes({"v": STATEMENT_VERSION, **asdict(self)})

    def digest(self) -> str:
        """SHA-256 (hex) of the canonical bytes: what the next checkpoint links to."""
        return hashlib.sha256(self.to_bytes()).hexdigest()

    @property
    def size(self) -> int:
        """How many entries the checkpoint covers."""
        return self.last - self.first + 1


@dataclass(frozen=True)
class Checkpoint:
    """A statement with its signature and, when a TSA is configured, its time-stamp."""

    statement: Statement
    signature: str  # base64
    public_key: str  # whpk_… of the key that signed
    timestamp: str | None = None  # base64 DER RFC 3161 TimeStampResp over the statement
    leaves: str = field(default="", compare=False)  # locator: 16-hex prefix of each entry hash

    def to_json(self) -> dict[str, Any]:
        """The checkpoint as JSON (witness lines, evidence bundles)."""
        return {
            "statement": asdict(self.statement),
            "signature": self.signature,
            "public_key": self.public_key,
            "timestamp": self.timestamp,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], leaves: str = "") -> Checkpoint:
        """The checkpoint back from `to_json`; KeyError or TypeError when malformed."""
        statement = Statement(**data["statement"])
        return cls(statement, data["signature"], data["public_key"], data.get("timestamp"), leaves)


LEAF_PREFIX = 16  # hex characters of each entry hash a witness keeps to name a bad entry


def leaf_prefixes(entry_hashes: list[str]) -> str:
    """The locator a witness keeps: the first 16 hex characters of each entry hash."""
    return "".join(h[:LEAF_PREFIX] for h in entry_hashes)
