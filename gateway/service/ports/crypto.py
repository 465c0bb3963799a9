"""Crypto ports: the service layer encrypts and signs through these, never a crypto library."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


class DataCipher(Protocol):
    """Encrypts personal data at rest (AES-256-GCM today; an SM4-GCM keyring fits as well).

    `encrypt` returns text naming its scheme and key id, so older keys still decrypt after a
    rotation; `decrypt` raises SealedDataError for an unknown key or an altered value.
    `associated` binds a value to its place (order and field, or handoff).
    """

    def encrypt(self, plaintext: bytes, associated: bytes) -> str: ...
    def decrypt(self, value: str, associated: bytes) -> bytes: ...
    def is_current(self, value: str) -> bool:
        """Whether `value` was encrypted with the key that encrypts now."""
        ...


@dataclass(frozen=True)
class KeyRecord:
    """A rotated key: `material` is an agency's key text, our own key sealed, or None for
    a key that is configured (environment, profile) and only tracked here to retire it."""

    owner: str  # "self" or an agency id
    key_id: str
    scheme: str
    material: str | None
    state: str  # active | retiring | retired
    created_at: float
    retire_at: float | None = None


#: a stored order's seals a write may keep: field → (its value, its seal as stored)
Seals = Mapping[str, tuple[str, str]]


class PersonalSeal(Protocol):
    """Seals personal data at rest and opens it; the store calls it on every write and read.

    The service layer fills this (`gateway.service.personal_data.Sealing` over a
    DataCipher), so the store never knows which fields are personal or how they are sealed.
    """

    def seal_document(self, document: dict[str, Any], kept: Seals | None = None) -> dict[str, Any]:
        """`document` sealed; a field whose value `kept` names keeps that stored seal."""
        ...

    def open_document(self, document: dict[str, Any]) -> dict[str, Any]: ...
    def kept_seals(self, stored: dict[str, Any], opened: dict[str, Any]) -> Seals:
        """The seals of `stored` (as read; `opened`: it opened) a write may keep."""
        ...

    def seal_body(self, handoff_id: str, body: bytes) -> bytes: ...
    def open_body(self, handoff_id: str, stored: bytes) -> bytes: ...
    def erase_document(self, document: dict[str, Any]) -> list[str]: ...


class FieldCipher(Protocol):
    """Encrypts one field value for one agency."""

    algorithm: str
    key_id: str

    def encrypt(self, plaintext: bytes, associated: bytes) -> str: ...


class VerifyingKey(Protocol):
    """A key that checks signatures of one scheme."""

    key_id: str
    scheme: str

    def verify(self, content: bytes, signature: bytes) -> bool: ...
    def public_text(self) -> str: ...


class SigningKey(Protocol):
    """A key that makes signatures of one scheme."""

    key_id: str
    scheme: str

    def sign(self, content: bytes) -> str: ...
    def verifying_key(self) -> VerifyingKey: ...
