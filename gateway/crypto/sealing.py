"""AES-256-GCM keyring for personal data at rest: the DataCipher adapter (`cryptography`).

Keys are text `lxdk_<base64 of 32 bytes>` (LIANXIN_DATA_KEYS); the key id is the first 8
hex digits of the key's SHA-256. The first key encrypts, every key decrypts, so keys
rotate: add the new key first, keep the old ones until nothing sealed with them is left.
A value encrypts to `v1:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>` with a fresh 12-byte
nonce; `v1` names AES-256-GCM (an SM4-GCM keyring would name its own scheme).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.domain.errors import ConfigError, SealedDataError

PREFIX = "lxdk_"
SCHEME = "v1"
NONCE = 12
log = logging.getLogger("lianxin")


class AesGcmKeyring:
    """Encrypts with its first key, decrypts with whichever key a value names."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ConfigError("an AES-GCM keyring needs at least one key")
        for key in keys:
            if len(key) != 32:
                raise ConfigError(f"an lxdk_ data key holds 32 bytes, not {len(key)}")
        self._keys = {key_id(key): AESGCM(key) for key in keys}
        self.key_id = key_id(keys[0])

    def encrypt(self, plaintext: bytes, associated: bytes) -> str:
        """`v1:<key id>:<base64>` of `plaintext`, bound to `associated`."""
        nonce = os.urandom(NONCE)
        sealed = self._keys[self.key_id].encrypt(nonce, plaintext, associated)
        return f"{SCHEME}:{self.key_id}:{base64.b64encode(nonce + sealed).decode()}"

    def is_current(self, value: str) -> bool:
        """Whether `value` was encrypted with the first key (the one that encrypts now)."""
        return value.startswith(f"{SCHEME}:{self.key_id}:")

    def decrypt(self, value: str, associated: bytes) -> bytes:
        """The plaintext of `value`, or SealedDataError (unknown key, altered or moved)."""
        scheme, kid, encoded = [*value.split(":", 2), "", ""][:3]
        if scheme != SCHEME:
            raise SealedDataError(f"stored value uses scheme '{scheme}', not {SCHEME}")
        aead = self._keys.get(kid)
        if aead is None:
            raise SealedDataError(
                f"stored value was encrypted with data key {kid}, which LIANXIN_DATA_KEYS "
                "does not hold: add that key back",
                key_id=kid,
            )
        try:
            raw = base64.b64decode(encoded, validate=True)
            return aead.decrypt(raw[:NONCE], raw[NONCE:], associated)
        except (binascii.Error, ValueError, InvalidTag):
            raise SealedDataError("stored value failed its integrity check", key_id=kid) from None


def key_id(key: bytes) -> str:
    """The public id of a data key: 8 hex digits of its SHA-256."""
    return hashlib.sha256(key).hexdigest()[:8]


def parse_data_key(text: str) -> bytes:
    """The 32 key bytes of `lxdk_…` text, or ConfigError."""
    if not text.startswith(PREFIX):
        raise ConfigError("a data key in LIANXIN_DATA_KEYS must start with lxdk_")
    try:
        raw = base64.b64decode(text[len(PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError("an lxdk_ data key is not valid base64") from None
    if len(raw) != 32:
        raise ConfigError(f"an lxdk_ data key holds 32 bytes, not {len(raw)}")
    return raw


def generate_data_key() -> str:
    """A new random data key as `lxdk_` text."""
    return PREFIX + base64.b64encode(os.urandom(32)).decode()


def data_keyring(texts: Sequence[str]) -> AesGcmKeyring:
    """The keyring of LIANXIN_DATA_KEYS; a throw-away key, loudly, when there is none."""
    if texts:
        return AesGcmKeyring([parse_data_key(text) for text in texts])
    keyring = AesGcmKeyring([os.urandom(32)])
    log.warning(
        "LIANXIN_DATA_KEYS is not set: personal data is encrypted with a throw-away key %s. "
        "Orders and queued handoffs written now CANNOT be read after a restart. "
        "Create a key with `lianxin data-key` and set LIANXIN_DATA_KEYS.",
        keyring.key_id,
    )
    return keyring


def ephemeral_keyring() -> AesGcmKeyring:
    """A keyring of one random key, for stores that never read what others sealed."""
    return AesGcmKeyring([os.urandom(32)])
