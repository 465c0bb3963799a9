"""Personal data at rest: seal a stored order's caller fields and handoff bodies, open them.

The store calls these on every write and read, so the service layer sees plain orders
and handoffs and the database holds `enc:<scheme>:<key id>:<base64>` values. Each value
is bound to its place by associated data: `{order id}|caller.{field}` for an order's
field, `{handoff id}|body` for a handoff body, so a value copied to another order, field
or handoff fails to decrypt. A handoff's digest and signature are over the plain body,
which is what is sent; only the stored bytes are sealed.
"""

from __future__ import annotations

from typing import Any

from gateway.domain.personal import PERSONAL_FIELDS
from gateway.service.ports.crypto import DataCipher

SEALED = "enc:"


def is_sealed(value: object) -> bool:
    """True for a value this module sealed."""
    return isinstance(value, str) and value.startswith(SEALED)


def seal_document(document: dict[str, Any], cipher: DataCipher) -> dict[str, Any]:
    """A dumped WorkOrder with each personal caller field encrypted (in place, returned)."""
    caller = document.get("caller")
    if isinstance(caller, dict):
        for field in PERSONAL_FIELDS:
            value = caller.get(field)
            if isinstance(value, str) and not is_sealed(value):
                token = cipher.encrypt(value.encode(), _field_context(document, field))
                caller[field] = SEALED + token
    return document


def open_document(document: dict[str, Any], cipher: DataCipher) -> dict[str, Any]:
    """A stored WorkOrder document with its sealed caller fields decrypted (in place)."""
    caller = document.get("caller")
    if isinstance(caller, dict):
        for field in PERSONAL_FIELDS:
            value = caller.get(field)
            if is_sealed(value):
                token = str(value)[len(SEALED) :]
                caller[field] = cipher.decrypt(token, _field_context(document, field)).decode()
    return document


def erase_document(document: dict[str, Any]) -> list[str]:
    """Blank the personal caller fields of a stored document; the names that held a value."""
    caller = document.get("caller")
    if not isinstance(caller, dict):
        return []
    erased = [field for field in PERSONAL_FIELDS if caller.get(field) is not None]
    for field in erased:
        caller[field] = None
    return erased


def seal_body(handoff_id: str, body: bytes, cipher: DataCipher) -> bytes:
    """The bytes to store for a handoff body."""
    return (SEALED + cipher.encrypt(body, _body_context(handoff_id))).encode()


def open_body(handoff_id: str, stored: bytes, cipher: DataCipher) -> bytes:
    """The body as it is sent (stored bytes that were never sealed are returned as they are)."""
    if not stored.startswith(SEALED.encode()):
        return stored
    token = stored[len(SEALED) :].decode()
    return cipher.decrypt(token, _body_context(handoff_id))


def _field_context(document: dict[str, Any], field: str) -> bytes:
    return f"{document['id']}|caller.{field}".encode()


def _body_context(handoff_id: str) -> bytes:
    return f"{handoff_id}|body".encode()


class Sealing:
    """The `PersonalSeal` port over a DataCipher: what the store calls on each write and read."""

    def __init__(self, cipher: DataCipher) -> None:
        self.cipher = cipher

    def seal_document(self, document: dict[str, Any]) -> dict[str, Any]:
        return seal_document(document, self.cipher)

    def open_document(self, document: dict[str, Any]) -> dict[str, Any]:
        return open_document(document, self.cipher)

    def seal_body(self, handoff_id: str, body: bytes) -> bytes:
        return seal_body(handoff_id, body, self.cipher)

    def open_body(self, handoff_id: str, stored: bytes) -> bytes:
        return open_body(handoff_id, stored, self.cipher)

    def erase_document(self, document: dict[str, Any]) -> list[str]:
        return erase_document(document)
