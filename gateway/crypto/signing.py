"""Message signing and verification following Standard Webhooks; call sites see no crypto.

Headers `webhook-id`, `webhook-timestamp`, `webhook-signature`; the signed content is
`{id}.{timestamp}.{body}`. `v1a,<base64>` is Ed25519 (agencies verify with our public
key and cannot sign as us), `v1,<base64>` is HMAC-SHA256 with a shared secret, and
`v1sm3,<base64>` is HMAC-SM3 (GB/T 32905) for agencies that require the national
algorithms. A header may carry several space-separated signatures, so keys rotate without
downtime: sign with old and new, verifiers accept any entry that one of their keys checks.
`webhook-key-id` names the key of each signature, in the same order (`v1a:1a2b3c4d …`).
Keys are text: `whsec_<b64 secret>`, `whsm3_<b64 secret>`, `whsk_<b64 Ed25519 seed>`,
`whpk_<b64 public key>`. A signing key is a port (`SigningKey`): an SM2 key held in an
HSM is one more class with `sign`, `verifying_key`, `scheme` and `key_id`.
Bad key text is a ConfigError; a refused message is a SignatureError with a `reason`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gateway.domain.errors import ConfigError, SignatureError
from gateway.service.ports.crypto import SigningKey, VerifyingKey

HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"
HEADER_KEY_ID = "webhook-key-id"
DEFAULT_TOLERANCE = 300.0


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _key_id(material: bytes) -> str:
    return hashlib.sha256(material).hexdigest()[:8]


class _HmacKey:
    scheme = "v1"

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self.key_id = _key_id(secret)

    def _mac(self, content: bytes) -> bytes:
        return hmac.new(self._secret, content, hashlib.sha256).digest()

    def sign(self, content: bytes) -> str:
        return f"{self.scheme}," + _b64(self._mac(content))

    def verify(self, content: bytes, signature: bytes) -> bool:
        return hmac.compare_digest(self._mac(content), signature)

    def verifying_key(self) -> _HmacKey:
        return self

    def public_text(self) -> str:
        raise ValueError("an HMAC secret has no public form")


class _HmacSm3Key(_HmacKey):
    """HMAC over SM3 (the national hash, GB/T 32905), from `cryptography`."""

    scheme = "v1sm3"

    def _mac(self, content: bytes) -> bytes:
        mac = crypto_hmac.HMAC(self._secret, hashes.SM3())
        mac.update(content)
        return mac.finalize()


def sm3_digest(data: bytes) -> str:
    """The SM3 hash of `data` in hex (for the standard's test vectors)."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


class _Ed25519PublicKey:
    scheme = "v1a"

    def __init__(self, raw: bytes) -> None:
        self._raw = raw
        self._key = Ed25519PublicKey.from_public_bytes(raw)
        self.key_id = _key_id(raw)

    def verify(self, content: bytes, signature: bytes) -> bool:
        try:
            self._key.verify(signature, content)
        except InvalidSignature:
            return False
        return True

    def public_text(self) -> str:
        return "whpk_" + _b64(self._raw)


class _Ed25519Key:
    scheme = "v1a"

    def __init__(self, seed: bytes) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        raw = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self._public = _Ed25519PublicKey(raw)
        self.key_id = self._public.key_id

    def sign(self, content: bytes) -> str:
        return "v1a," + _b64(self._key.sign(content))

    def verifying_key(self) -> _Ed25519PublicKey:
        return self._public


def _decode(text: str, prefix: str, size: int | None = None, minimum: int = 1) -> bytes:
    encoded = text[len(prefix) :]
    try:
        raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"a {prefix} key is not valid base64") from None
    if len(raw) < minimum or (size is not None and len(raw) != size):
        wanted = size or f"at least {minimum}"
        raise ConfigError(f"a {prefix} key must hold {wanted} bytes, not {len(raw)}")
    return raw


def parse_signing_key(text: str) -> SigningKey:
    """A signing key from `whsec_…` (HMAC-SHA256), `whsm3_…` (HMAC-SM3) or `whsk_…`
    (Ed25519 seed) text."""
    if text.startswith("whsec_"):
        return _HmacKey(_decode(text, "whsec_"))
    if text.startswith("whsm3_"):
        return _HmacSm3Key(_decode(text, "whsm3_", None, minimum=16))
    if text.startswith("whsk_"):
        return _Ed25519Key(_decode(text, "whsk_", 32))
    raise ConfigError("a signing key must start with whsec_, whsm3_ or whsk_")


def parse_verifying_key(text: str) -> VerifyingKey:
    """A verifying key from `whsec_…`, `whsk_…` or `whpk_…` text."""
    if text.startswith("whpk_"):
        return _Ed25519PublicKey(_decode(text, "whpk_", 32))
    if text.startswith(("whsec_", "whsm3_", "whsk_")):
        return parse_signing_key(text).verifying_key()
    raise ConfigError("a verifying key must start with whpk_, whsec_, whsm3_ or whsk_")


def generate_ed25519_key() -> str:
    """A new Ed25519 signing key as `whsk_` text."""
    return "whsk_" + _b64(secrets.token_bytes(32))


def generate_hmac_secret() -> str:
    """A new 32-byte HMAC secret as `whsec_` text."""
    return "whsec_" + _b64(secrets.token_bytes(32))


def generate_sm3_secret() -> str:
    """A new 32-byte HMAC-SM3 secret as `whsm3_` text."""
    return "whsm3_" + _b64(secrets.token_bytes(32))


def public_text_of(signing_key_text: str) -> str:
    """The `whpk_` public key of a `whsk_` signing key."""
    return parse_signing_key(signing_key_text).verifying_key().public_text()


def signed_content(msg_id: str, timestamp: int, body: bytes) -> bytes:
    """What the signature covers: `{id}.{timestamp}.{body}`."""
    return f"{msg_id}.{timestamp}.".encode() + body


class MessageSigner:
    """Signs messages with every key it holds (several during a rotation): one signature
    per key and message; the `webhook-key-id` text is made once per set of keys."""

    def __init__(self, keys: Sequence[SigningKey]) -> None:
        if not keys:
            raise ConfigError("a signer needs at least one key")
        self.keys = keys

    @property
    def keys(self) -> list[SigningKey]:
        """The keys in force, in signature order (the key rotation sets them)."""
        return self._keys

    @keys.setter
    def keys(self, keys: Sequence[SigningKey]) -> None:
        self._keys = list(keys)
        self._key_ids = " ".join(f"{key.scheme}:{key.key_id}" for key in self._keys)

    def signature(self, msg_id: str, timestamp: int, body: bytes) -> str:
        """The `webhook-signature` header value."""
        content = signed_content(msg_id, timestamp, body)
        return " ".join(key.sign(content) for key in self._keys)

    def headers(self, msg_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """The Standard Webhooks headers for one message, and the key id of each signature."""
        ts = int(time.time()) if timestamp is None else timestamp
        return {
            HEADER_ID: msg_id,
            HEADER_TIMESTAMP: str(ts),
            HEADER_SIGNATURE: self.signature(msg_id, ts, body),
            HEADER_KEY_ID: self._key_ids,
        }

    @property
    def key_ids(self) -> str:
        """`scheme:key id` of every key, in signature order."""
        return self._key_ids


@dataclass(frozen=True)
class VerifiedMessage:
    """A message whose signature checked out, and the key that checked it."""

    msg_id: str
    timestamp: int
    key_id: str
    signature: str = ""  # the webhook-signature header as received (kept as evidence)


class MessageVerifier:
    """Checks the headers, freshness and signature of incoming messages."""

    def __init__(
        self,
        keys: Sequence[VerifyingKey],
        tolerance: float = DEFAULT_TOLERANCE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.keys = list(keys)
        self.tolerance = tolerance
        self.clock = clock

    def verify(self, headers: Mapping[str, str], body: bytes) -> VerifiedMessage:
        """The verified message, or SignatureError saying what is wrong."""
        if not self.keys:
            raise SignatureError("no key is configured to verify this sender", reason="no_key")
        lowered = {name.lower(): value for name, value in headers.items()}
        msg_id, stamp, header = (_required(lowered, name) for name in _HEADERS)
        timestamp = self._fresh(stamp)
        content = signed_content(msg_id, timestamp, body)
        for scheme, signature in _entries(header):
            for key in self.keys:
                if key.scheme == scheme and key.verify(content, signature):
                    return VerifiedMessage(msg_id, timestamp, key.key_id, header)
        raise SignatureError("no signature matches a known key", reason="no_match")

    def _fresh(self, stamp: str) -> int:
        if not (stamp.isascii() and stamp.isdigit()):
            raise SignatureError(f"{HEADER_TIMESTAMP} is not an integer", reason="bad_timestamp")
        timestamp = int(stamp)
        age = self.clock() - timestamp
        if abs(age) <= self.tolerance:
            return timestamp
        beyond = abs(age) - self.tolerance
        if age > 0:
            text, reason = f"{age:.0f}s old", "too_old"
        else:
            text, reason = f"{-age:.0f}s in the future", "too_new"
        raise SignatureError(
            f"message is {text}, {beyond:.0f}s beyond the {self.tolerance:.0f}s tolerance",
            reason=reason,
            skew=round(age),
        )


def signature_checks(
    msg_id: str, timestamp: int, body: bytes, header: str, public_keys: Sequence[str]
) -> str | None:
    """Offline: the key id of the first `whpk_` key that checks a `v1a` signature in
    `header` over `{msg_id}.{timestamp}.{body}`, or None. No clock: evidence is old."""
    keys = [parse_verifying_key(text) for text in public_keys if text.startswith("whpk_")]
    content = signed_content(msg_id, timestamp, body)
    for scheme, signature in _entries(header):
        for key in keys:
            if key.scheme == scheme and key.verify(content, signature):
                return key.key_id
    return None


def public_schemes(header: str) -> bool:
    """True when `header` holds a signature a third party can check (`v1a`, Ed25519);
    `v1` and `v1sm3` are HMACs under a secret only the sender and Lianxin hold."""
    return any(part.startswith("v1a,") for part in header.split())


_HEADERS = (HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE)
_SCHEMES = frozenset({"v1", "v1a", "v1sm3"})


def _required(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name, "").strip()
    if not value:
        raise SignatureError(f"missing header {name}", reason="missing_header", header=name)
    return value


def _entries(header: str) -> list[tuple[str, bytes]]:
    """The (scheme, signature) entries of known schemes; others are skipped."""
    entries = []
    for part in header.split():
        scheme, sep, encoded = part.partition(",")
        if not (scheme and sep and encoded):
            raise SignatureError(f"malformed {HEADER_SIGNATURE} entry", reason="malformed")
        if scheme not in _SCHEMES:
            continue
        try:
            entries.append((scheme, base64.b64decode(encoded, validate=True)))
        except (binascii.Error, ValueError):
            raise SignatureError(f"{HEADER_SIGNATURE} is not base64", reason="malformed") from None
    return entries
