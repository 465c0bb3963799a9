"""Personal data at rest: seal a stored order's caller fields and handoff bodies, open them.

The store calls these on every write and read, so the service layer sees plain orders
and handoffs and the database holds `enc:<scheme>:<key id>:<base64>` values. Each value
is bound to its place by associated data: `{order id}|caller.{field}` for an order's
field, `{handoff id}|body` for a handoff body, so a value copied to another order, field
or handoff fails to decrypt. A handoff's digest and signature are over the plain body,
which is what is sent; only the stored bytes are sealed.

Writing an order again re-seals only what changed: a field whose value is the one read,
sealed with the key that encrypts now, keeps its stored seal (`kept_seals`), so a status
change costs no encryption, and an order is still re-sealed with the newest key whenever
it is written after a rotation.
"""

from __future__ import annotations

from typing import Any

from gateway.domain.personal import PERSONAL_FIELDS
from gateway.service.ports.crypto import DataCipher, Seals

SEALED = "enc:"


def is_sealed(value: object) -> bool:
    """True for a value this module sealed."""
    return isinstance(value, str) and value.startswith(SEALED)


def seal_document(
    document: dict[str, Any], cipher: DataCipher, kept: Seals | None = None
) -> dict[str, Any]:
    """A dumped WorkOrder with each personal caller field encrypted (in place, returned:
    its `caller` becomes a sealed copy, the dict it held is left as it was); a field whose
    value is the one `kept` names takes its kept seal instead."""
    caller = document.get("caller")
    if isinstance(caller, dict):
        document["caller"] = caller = dict(caller)
        for field in PERSONAL_FIELDS:
            value = caller.get(field)
            if kept and field in kept and kept[field][0] == value:
                caller[field] = kept[field][1]
            elif isinstance(value, str) and not is_sealed(value):
                token = cipher.encrypt(value.encode(), _field_context(document, field))
                caller[field] = SEALED + token
    return document


def open_document(document: dict[str, Any], cipher: DataCipher) -> dict[str, Any]:
    """A stored WorkOrder document with its sealed caller fields decrypted: a copy (the
    caller too), the given document left as it was (the store keeps its seals)."""
    caller = document.get("caller")
    if not isinstance(caller, dict):
        return dict(document)
    opened = {**document, "caller": dict(caller)}
    for field in PERSONAL_FIELDS:
        value = caller.get(field)
        if is_sealed(value):
            token = str(value)[len(SEALED) :]
            plain = cipher.decrypt(token, _field_context(document, field)).decode()
            opened["caller"][field] = plain
    return opened


def kept_seals(stored: dict[str, Any], opened: dict[str, Any], cipher: DataCipher) -> Seals:
    """The seals of a stored document (`stored`, as read) that a write of the same values
    may keep: those the key that encrypts now made (`opened`: the document opened)."""
    sealed, plain = stored.get("caller"), opened.get("caller")
    if not isinstance(sealed, dict) or not isinstance(plain, dict):
        return {}
    return {
        field: (plain[field], sealed[field])
        for field in PERSONAL_FIELDS
        if is_sealed(sealed.get(field))
        and isinstance(plain.get(field), str)
        and cipher.is_current(str(sealed[field])[len(SEALED) :])
    }


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

    def seal_document(self, document: dict[str, Any], kept: Seals | None = None) -> dict[str, Any]:
        return seal_document(document, self.cipher, kept)

    def open_document(self, document: dict[str, Any]) -> dict[str, Any]:
        return open_document(document, self.cipher)

    def kept_seals(self, stored: dict[str, Any], opened: dict[str, Any]) -> Seals:
        return kept_seals(stored, opened, self.cipher)

    def seal_body(self, handoff_id: str, body: bytes) -> bytes:
        return seal_body(handoff_id, body, self.cipher)

    def open_body(self, handoff_id: str, stored: bytes) -> bytes:
        return open_body(handoff_id, stored, self.cipher)

    def erase_document(self, document: dict[str, Any]) -> list[str]:
        return erase_document(document)
