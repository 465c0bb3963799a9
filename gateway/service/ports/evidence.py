"""The ports checkpointing and evidence depend on: where checkpoints are kept, who signs
them, who witnesses them and who time-stamps them. Adapters: gateway/store/checkpoints.py,
gateway/crypto/checkpoint_keys.py, gateway/witnessing/witnesses.py and
gateway/witnessing/timestamping.py."""

from __future__ import annotations

from typing import Protocol

from gateway.domain.audit import AuditRecord
from gateway.domain.checkpoint import Checkpoint


class CheckpointSigner(Protocol):
    """Signs checkpoint statements with the checkpoint key (Ed25519 today, SM2 later)."""

    key_id: str
    algorithm: str
    public_key: str

    def sign(self, data: bytes) -> str:
        """The signature of `data`, base64."""
        ...


class Witness(Protocol):
    """Keeps checkpoints outside the database; raises WitnessError when it could not."""

    name: str

    async def record(self, checkpoint: Checkpoint) -> None: ...


class TimeStamper(Protocol):
    """An RFC 3161 time-stamping authority: a TimeStampResp (DER) for `data`."""

    async def stamp(self, data: bytes) -> bytes: ...


class CheckpointStore(Protocol):
    """Stored checkpoints, and the entry hashes they are made from."""

    async def latest(self) -> Checkpoint | None: ...
    async def head_seq(self) -> int: ...
    async def entry_hashes(self, after: int, limit: int) -> list[tuple[int, str]]:
        """(seq, entry_hash) of the entries after `after`, at most `limit`, in order."""
        ...

    async def add(self, checkpoint: Checkpoint) -> None: ...
    async def unwitnessed(self) -> list[Checkpoint]: ...
    async def mark_witnessed(self, number: int) -> None: ...


class EvidenceSource(Protocol):
    """What an evidence bundle is read from."""

    async def order_entries(self, order_id: str) -> list[AuditRecord]:
        """The order's audit entries in sequence order; UnknownOrder if there is none."""
        ...

    async def checkpoint_covering(self, seq: int) -> Checkpoint | None: ...
    async def entry_hashes_between(self, first: int, last: int) -> list[str]: ...
    async def received_bodies(
        self, messages: list[tuple[str, str]]
    ) -> dict[tuple[str, str], bytes]:
        """The signed bytes kept for each (party, message id) received, opened."""
        ...
