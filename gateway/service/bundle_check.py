"""Checking an evidence bundle offline: no database, no network, only the file (and,
optionally, the public keys the verifier already trusts).

Each check names what broke: the file's bytes, a checkpoint's signature, an entry's
hash, a proof, a message reference, or the seal over everything else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import ValidationError

from gateway.crypto.checkpoint_keys import ED25519, checkpoint_problem, key_id_of, signature_valid
from gateway.crypto.stamp_check import stamp_time
from gateway.domain.checkpoint import Checkpoint, Statement, canonical_bytes
from gateway.domain.errors import EvidenceError
from gateway.domain.evidence import (
    FORMAT,
    Bundle,
    CheckpointJson,
    EntryJson,
    ProofJson,
    SealedBundle,
    bundle_text,
    message_id_of,
    sender_signature,
)
from gateway.service import merkle
from gateway.service.audit import digest, entry_content
from gateway.service.sender_check import check_senders


@dataclass(frozen=True)
class BundleReport:
    """What a bundle that verifies proves."""

    order_id: str
    entries: int
    messages: int
    checkpoints: list[int]
    key_ids: list[str]
    stamped: int  # checkpoints carrying an RFC 3161 time-stamp
    statements: dict[int, str]  # checkpoint number → digest of its signed statement
    #: received messages by what became of their sender's signature: "verified",
    #: "withheld" (body not in a masked bundle), "shared_secret" (HMAC only), "unsigned"
    senders: dict[str, int]


def not_witnessed(report: BundleReport, witnessed: list[Checkpoint]) -> list[int]:
    """The bundle's checkpoints that the witness does not hold, with the same statement."""
    held = {c.statement.number: c.statement.digest() for c in witnessed}
    return [n for n, digest in report.statements.items() if held.get(n) != digest]


def verify_bundle(raw: bytes, trusted: set[str] | None = None) -> BundleReport:
    """Check every part of a bundle file; EvidenceError naming the first part that broke."""
    sealed = _parse(raw)
    bundle = sealed.bundle
    if bundle.format != FORMAT:
        raise EvidenceError(f"format is {bundle.format!r}, not {FORMAT!r}")
    checkpoints = _check_checkpoints(bundle.checkpoints, trusted)
    _check_entries(bundle)
    _check_proofs(bundle, checkpoints)
    _check_messages(bundle)
    senders = check_senders(bundle)
    _check_seal(sealed, trusted)
    return BundleReport(
        order_id=bundle.order_id,
        entries=len(bundle.entries),
        messages=len(bundle.messages),
        checkpoints=sorted(checkpoints),
        key_ids=sorted({c.statement.key_id for c in checkpoints.values()}),
        stamped=sum(1 for c in checkpoints.values() if c.timestamp),
        statements={n: c.statement.digest() for n, c in sorted(checkpoints.items())},
        senders=senders,
    )


def _parse(raw: bytes) -> SealedBundle:
    try:
        text = raw.decode("utf-8")
        document = json.loads(text)
    except UnicodeDecodeError as exc:
        raise EvidenceError(f"the file is not UTF-8 (byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise EvidenceError(f"the file is not JSON: {exc.msg} at byte {exc.pos}") from exc
    expected = bundle_text(document)
    if text != expected:
        at = next((i for i, (a, b) in enumerate(zip(text, expected, strict=False)) if a != b), None)
        at = min(len(text), len(expected)) if at is None else at
        line = text.count("\n", 0, at) + 1
        raise EvidenceError(
            f"the file is not laid out as exported: first difference at character {at} "
            f"(line {line})"
        )
    try:
        return SealedBundle.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise EvidenceError(f"the bundle's structure is wrong at {where}: {first['msg']}") from exc


def _check_checkpoints(
    items: list[CheckpointJson], trusted: set[str] | None
) -> dict[int, Checkpoint]:
    checkpoints: dict[int, Checkpoint] = {}
    for item in items:
        checkpoint = Checkpoint.from_json(item.model_dump())
        problem = checkpoint_problem(checkpoint, trusted)
        if problem is not None:
            raise EvidenceError(problem)
        if checkpoint.timestamp is not None:
            try:
                stamp_time(checkpoint.timestamp, checkpoint.statement.to_bytes())
            except ValueError as exc:
                raise EvidenceError(f"checkpoint {item.statement.number}: {exc}") from exc
        checkpoints[checkpoint.statement.number] = checkpoint
    return checkpoints


def _check_entries(bundle: Bundle) -> None:
    if not bundle.entries:
        raise EvidenceError("the bundle holds no audit entry")
    for entry in bundle.entries:
        if entry.order_id != bundle.order_id:
            raise EvidenceError(f"entry {entry.seq} is about order {entry.order_id!r}")
        if _entry_hash(entry) != entry.entry_hash:
            raise EvidenceError(f"entry {entry.seq}: content does not match its hash")


def _entry_hash(entry: EntryJson) -> str:
    content = entry_content(
        entry.prev_hash,
        entry.seq,
        entry.at_us,
        entry.event,
        entry.order_id,
        entry.handoff_id,
        entry.party,
        entry.payload_digest,
        entry.signature,
        entry.detail,
    )
    return digest(content)


def _check_proofs(bundle: Bundle, checkpoints: dict[int, Checkpoint]) -> None:
    proofs = {proof.seq: proof for proof in bundle.proofs}
    for entry in bundle.entries:
        proof = proofs.get(entry.seq)
        if proof is None:
            raise EvidenceError(f"entry {entry.seq} has no inclusion proof")
        checkpoint = checkpoints.get(proof.checkpoint)
        if checkpoint is None:
            raise EvidenceError(f"entry {entry.seq}: checkpoint {proof.checkpoint} is not in it")
        statement = checkpoint.statement
        if proof.index != entry.seq - statement.first or not _leaf_proved(entry, proof, statement):
            raise EvidenceError(
                f"entry {entry.seq}: its inclusion proof does not lead to the root of "
                f"checkpoint {statement.number}"
            )


def _leaf_proved(entry: EntryJson, proof: ProofJson, statement: Statement) -> bool:
    try:
        leaf = bytes.fromhex(entry.entry_hash)
    except ValueError:
        return False
    return merkle.verify_inclusion(leaf, proof.index, statement.size, proof.path, statement.root)


def _check_messages(bundle: Bundle) -> None:
    entries = {entry.seq: entry for entry in bundle.entries}
    for message in bundle.messages:
        entry = entries.get(message.seq)
        recorded = entry and (
            message_id_of(entry.detail),
            entry.payload_digest,
            entry.signature,
            entry.handoff_id,
            entry.party,
            entry.event,
            sender_signature(entry.detail, message.direction == "in"),
        )
        listed = (
            message.message_id,
            message.payload_digest,
            message.signature,
            message.handoff_id,
            message.party,
            message.event,
            message.signed,
        )
        if recorded != listed:
            raise EvidenceError(f"message of entry {message.seq} is not what the entry records")


def _check_seal(sealed: SealedBundle, trusted: set[str] | None) -> None:
    seal = sealed.seal
    if seal.algorithm != ED25519:
        raise EvidenceError(f"seal: unknown algorithm {seal.algorithm!r}")
    if key_id_of(seal.public_key) != seal.key_id:
        raise EvidenceError("seal: its public key does not match its key id")
    if trusted is not None and seal.public_key not in trusted:
        raise EvidenceError(f"seal: signed by key {seal.key_id}, not trusted")
    data = canonical_bytes(sealed.bundle.model_dump())
    if not signature_valid(seal.public_key, data, seal.signature):
        raise EvidenceError(
            "seal: signature does not verify: the bundle was changed after export "
            "(a part the other checks do not cover: its header, messages, witnesses or keys)"
        )
