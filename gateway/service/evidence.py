"""Exporting one work order's evidence as a sealed, self-contained bundle.

Before reading, every entry appended so far is checkpointed (signed and witnessed), so
each of the order's entries gets an inclusion proof to a witnessed checkpoint. The bundle
holds no personal data in clear: entries carry digests and masked text only (the store
masks phone and ID numbers before hashing), and message bodies appear as digests. Only a
`plain` export adds the bodies of received messages, so their senders' signatures verify.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime

from gateway.domain.audit import AuditRecord
from gateway.domain.checkpoint import Checkpoint, canonical_bytes
from gateway.domain.errors import AuditError
from gateway.domain.evidence import (
    FORMAT,
    Bundle,
    MessageJson,
    ProofJson,
    bundle_text,
    message_id_of,
    sender_signature,
)
from gateway.service import merkle
from gateway.service.checkpoints import Checkpointer
from gateway.service.ports.evidence import CheckpointSigner, EvidenceSource

#: entries that record a message coming in from the party they name
INBOUND = frozenset(
    {"received", "status_applied", "assist_update", "agency_receipt", "refused", "event_recorded"}
)


class EvidenceExporter:
    """Builds evidence bundles from the store, the checkpointer and the keys."""

    def __init__(
        self,
        source: EvidenceSource,
        checkpointer: Checkpointer,
        signer: CheckpointSigner,
        message_keys: Mapping[str, Sequence[str]],
        witnesses: Sequence[str],
        clock: Callable[[], float],
    ) -> None:
        self.source, self.checkpointer, self.signer = source, checkpointer, signer
        self.message_keys = message_keys  # read at each export: rotated keys show up
        self.witnesses, self.clock = list(witnesses), clock

    async def export(self, order_id: str, exported_by: str, plain: bool = False) -> str:
        """The bundle file's text for `order_id` (UnknownOrder when it has no entries).

        With `plain`, received messages' bodies are included (they may hold personal
        data), so each sender's signature verifies offline; callers decide who may ask."""
        records = await self.source.order_entries(order_id)
        await self.checkpointer.checkpoint_now()
        checkpoints, proofs = await self._proofs(records)
        messages = [m for r in records if (m := _message(r)) is not None]
        if plain:
            messages = await self._with_bodies(messages)
        bundle = Bundle.model_validate(
            {
                "format": FORMAT,
                "order_id": order_id,
                "exported_at": datetime.fromtimestamp(self.clock(), UTC).isoformat(),
                "exported_by": exported_by,
                "personal_data": "plain" if plain else "masked",
                "entries": [asdict(r) for r in records],
                "messages": [m.model_dump() for m in messages],
                "proofs": [p.model_dump() for p in proofs],
                "checkpoints": [c.to_json() for c in checkpoints],
                "witnesses": self.witnesses,
                "keys": {party: list(keys) for party, keys in self.message_keys.items()},
            }
        )
        return bundle_text({"bundle": bundle.model_dump(), "seal": self._seal(bundle)})

    async def _with_bodies(self, messages: list[MessageJson]) -> list[MessageJson]:
        wanted = [(m.party or "", m.message_id) for m in messages if _kept(m) and m.message_id]
        bodies = await self.source.received_bodies(wanted) if wanted else {}
        return [
            m.model_copy(update={"body": base64.b64encode(body).decode()})
            if _kept(m) and (body := bodies.get((m.party or "", m.message_id or ""))) is not None
            else m
            for m in messages
        ]

    async def _proofs(self, records: list[AuditRecord]) -> tuple[list[Checkpoint], list[ProofJson]]:
        groups: list[tuple[Checkpoint, list[int]]] = []
        for record in records:
            if not groups or groups[-1][0].statement.last < record.seq:
                checkpoint = await self.source.checkpoint_covering(record.seq)
                if checkpoint is None:
                    raise AuditError(f"entry {record.seq} is not covered by any checkpoint")
                groups.append((checkpoint, []))
            groups[-1][1].append(record.seq)
        proofs = [proof for group in groups for proof in await self._group_proofs(*group)]
        return [checkpoint for checkpoint, _ in groups], proofs

    async def _group_proofs(self, checkpoint: Checkpoint, seqs: list[int]) -> list[ProofJson]:
        statement = checkpoint.statement
        hashes = await self.source.entry_hashes_between(statement.first, statement.last)
        paths = merkle.inclusion_proofs(
            [bytes.fromhex(h) for h in hashes], [seq - statement.first for seq in seqs]
        )
        return [
            ProofJson(
                seq=seq,
                checkpoint=statement.number,
                index=seq - statement.first,
                path=paths[seq - statement.first],
            )
            for seq in seqs
        ]

    def _seal(self, bundle: Bundle) -> dict[str, str]:
        return {
            "algorithm": self.signer.algorithm,
            "key_id": self.signer.key_id,
            "public_key": self.signer.public_key,
            "signature": self.signer.sign(canonical_bytes(bundle.model_dump())),
        }


def _kept(message: MessageJson) -> bool:
    """Whether a body was kept for this received message (its entry records its digest)."""
    return bool(message.signed and message.signed.get("body_sha256"))


def _message(record: AuditRecord) -> MessageJson | None:
    message_id = message_id_of(record.detail)
    if record.payload_digest is None and record.signature is None and message_id is None:
        return None
    inbound = record.event in INBOUND or message_id is not None
    return MessageJson(
        seq=record.seq,
        event=record.event,
        direction="in" if inbound else "out",
        party=record.party,
        handoff_id=record.handoff_id,
        message_id=message_id,
        payload_digest=record.payload_digest,
        signature=record.signature,
        signed=sender_signature(record.detail, inbound),
        body=None,
    )
