"""SM4-GCM (GB/T 32907 block cipher in GCM mode) from `cryptography`: the FieldCipher adapter.

Keys are text `sm4k_<base64 of 16 bytes>`; the key id is the first 8 hex digits of the
key's SHA-256. A value encrypts to `SM4-GCM:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>`
with a fresh 12-byte nonce and a 16-byte tag.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from gateway.domain.errors import ConfigError, SignatureError

PREFIX = "sm4k_"
NONCE, TAG = 12, 16


class Sm4GcmCipher:
    """Encrypts (and, for simulators and tests, decrypts) field values with one SM4 key."""

    algorithm = "SM4-GCM"

    def __init__(self, key: bytes) -> None:
        if len(key) != 16:
            raise ConfigError(f"an SM4 key holds 16 bytes, not {len(key)}")
        self._key = key
        self.key_id = hashlib.sha256(key).hexdigest()[:8]

    def encrypt(self, plaintext: bytes, associated: bytes) -> str:
        nonce = os.urandom(NONCE)
        encryptor = Cipher(algorithms.SM4(self._key), modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(associated)
        sealed = encryptor.update(plaintext) + encryptor.finalize() + encryptor.tag
        return f"{self.algorithm}:{self.key_id}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, value: str, associated: bytes) -> bytes:
        """The plaintext of `value`, or SignatureError if it was altered or moved."""
        algorithm, key_id, encoded = [*value.split(":", 2), "", ""][:3]
        if algorithm != self.algorithm or key_id != self.key_id:
            raise SignatureError(f"not an {self.algorithm} value for key {self.key_id}")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise SignatureError("encrypted field is not base64") from None
        nonce, sealed, tag = raw[:NONCE], raw[NONCE:-TAG], raw[-TAG:]
        decryptor = Cipher(algorithms.SM4(self._key), modes.GCM(nonce, tag)).decryptor()
        decryptor.authenticate_additional_data(associated)
        try:
            return decryptor.update(sealed) + decryptor.finalize()
        except InvalidTag:
            raise SignatureError("encrypted field failed its integrity check") from None


def parse_sm4_key(text: str) -> Sm4GcmCipher:
    """A cipher from `sm4k_…` key text."""
    if not text.startswith(PREFIX):
        raise ConfigError("an SM4 key must start with sm4k_")
    try:
        raw = base64.b64decode(text[len(PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError("an sm4k_ key is not valid base64") from None
    return Sm4GcmCipher(raw)


def generate_sm4_key() -> str:
    """A new SM4 key as `sm4k_` text."""
    return PREFIX + base64.b64encode(os.urandom(16)).decode()
