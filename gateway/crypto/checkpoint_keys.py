"""The checkpoint key: Ed25519 behind the `CheckpointSigner` port, and checking signatures.

The key is a `whsk_` seed like Lianxin's message keys (`LIANXIN_CHECKPOINT_KEY`), but a
key of its own: agencies that verify our messages do not thereby trust our checkpoints.
An SM2 signer would be one more class with `key_id`, `algorithm`, `public_key` and `sign`.
"""

from __future__ import annotations

import base64
import binascii
import logging

from gateway.crypto.signing import generate_ed25519_key, parse_signing_key, parse_verifying_key
from gateway.domain.checkpoint import Checkpoint
from gateway.domain.errors import ConfigError

log = logging.getLogger("lianxin.checkpoints")
ED25519 = "ed25519"


class Ed25519CheckpointSigner:
    """Signs checkpoint statements with an Ed25519 key."""

    algorithm = ED25519

    def __init__(self, key_text: str) -> None:
        key = parse_signing_key(key_text)
        if key.scheme != "v1a":
            raise ConfigError("LIANXIN_CHECKPOINT_KEY must be an Ed25519 whsk_ key")
        self._key = key
        self.key_id = key.key_id
        self.public_key = key.verifying_key().public_text()

    def sign(self, data: bytes) -> str:
        """The signature of `data`, base64."""
        return self._key.sign(data).removeprefix("v1a,")


def checkpoint_signer(key_text: str | None) -> Ed25519CheckpointSigner:
    """The configured checkpoint signer, or a throw-away one (said loudly)."""
    if key_text:
        return Ed25519CheckpointSigner(key_text)
    signer = Ed25519CheckpointSigner(generate_ed25519_key())
    log.warning(
        "LIANXIN_CHECKPOINT_KEY is not set: checkpoints are signed with a throw-away key "
        "%s (public %s)",
        signer.key_id,
        signer.public_key,
    )
    return signer


def key_id_of(public_key: str) -> str | None:
    """The key id of a `whpk_` public key, or None when it is not one (in canonical form)."""
    raw = _canonical_b64(public_key.removeprefix("whpk_"))
    if not public_key.startswith("whpk_") or raw is None:
        return None
    try:
        return parse_verifying_key(public_key).key_id
    except ConfigError:
        return None


def _canonical_b64(text: str) -> bytes | None:
    """The bytes of padded base64 `text`, or None unless it is the one encoding of them:
    base64 leaves spare bits in its last character, and they must not hide a change."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if base64.b64encode(raw).decode() == text else None


def signature_valid(public_key: str, data: bytes, signature: str) -> bool:
    """Whether `signature` (base64) over `data` checks against `public_key` (whpk_)."""
    raw = _canonical_b64(signature)
    if raw is None or key_id_of(public_key) is None:
        return False
    key = parse_verifying_key(public_key)
    return key.scheme == "v1a" and key.verify(data, raw)


def checkpoint_problem(checkpoint: Checkpoint, trusted: set[str] | None = None) -> str | None:
    """Why `checkpoint`'s signature cannot be accepted, or None when it can.

    `trusted` pins the public keys accepted; None accepts the key the checkpoint names
    as long as its key id matches it.
    """
    statement = checkpoint.statement
    if statement.algorithm != ED25519:
        return f"checkpoint {statement.number}: unknown algorithm {statement.algorithm!r}"
    if key_id_of(checkpoint.public_key) != statement.key_id:
        return f"checkpoint {statement.number}: public key does not match key id"
    if trusted is not None and checkpoint.public_key not in trusted:
        return f"checkpoint {statement.number}: signed by key {statement.key_id}, not trusted"
    if not signature_valid(checkpoint.public_key, statement.to_bytes(), checkpoint.signature):
        return f"checkpoint {statement.number}: signature does not verify"
    return None
