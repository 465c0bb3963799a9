"""Sealing a stored order's caller fields and a handoff's body, and erasing them."""

from __future__ import annotations

import hashlib

import pytest

from gateway.crypto.sealing import AesGcmKeyring, ephemeral_keyring
from gateway.domain.errors import SealedDataError
from gateway.service.personal_data import (
    erase_document,
    open_body,
    open_document,
    seal_body,
    seal_document,
)


def document(order_id: str = "wo_1") -> dict[str, object]:
    caller = {"name": "陈女士", "phone": "13812345678", "id_number": None, "confidential": False}
    return {"id": order_id, "title": "夜间施工噪音扰民", "caller": caller}


def test_caller_fields_are_sealed_and_open_again() -> None:
    ring = ephemeral_keyring()
    sealed = seal_document(document(), ring)
    caller = sealed["caller"]
    assert isinstance(caller, dict)
    assert caller["name"].startswith("enc:v1:") and caller["phone"].startswith("enc:v1:")
    assert caller["id_number"] is None and sealed["title"] == "夜间施工噪音扰民"
    assert open_document(sealed, ring) == document()


def test_sealing_twice_does_not_seal_a_sealed_value_again() -> None:
    ring = ephemeral_keyring()
    once = seal_document(document(), ring)
    phone = once["caller"]["phone"]  # type: ignore[index]
    assert seal_document(once, ring)["caller"]["phone"] == phone  # type: ignore[index]


def test_sealing_leaves_the_caller_it_was_given_as_it_was() -> None:
    """Intake hands the store the dump its transfers are then rendered from."""
    given = document()
    caller = given["caller"]
    sealed = seal_document(dict(given), ephemeral_keyring())
    assert sealed["caller"] is not caller
    assert caller == document()["caller"]


def test_a_field_copied_into_another_order_does_not_open() -> None:
    ring = ephemeral_keyring()
    sealed = seal_document(document("wo_1"), ring)
    other = document("wo_2")
    other["caller"] = sealed["caller"]
    with pytest.raises(SealedDataError):
        open_document(other, ring)


def test_an_order_stored_before_encryption_opens_as_it_is() -> None:
    assert open_document(document(), ephemeral_keyring()) == document()


def test_erasing_blanks_the_personal_fields_and_names_them() -> None:
    sealed = seal_document(document(), ephemeral_keyring())
    assert erase_document(sealed) == ["name", "phone"]
    assert sealed["caller"] == {
        "name": None,
        "phone": None,
        "id_number": None,
        "confidential": False,
    }
    assert erase_document({"id": "wo_1", "caller": None}) == []


def test_a_body_is_stored_sealed_and_opens_to_the_bytes_its_digest_was_made_of() -> None:
    ring: AesGcmKeyring = ephemeral_keyring()
    body = b'{"id":"msg_1","lxr":{"dh":"13812345678"}}'
    stored = seal_body("msg_1", body, ring)
    assert stored.startswith(b"enc:v1:") and b"13812345678" not in stored
    opened = open_body("msg_1", stored, ring)
    assert hashlib.sha256(opened).digest() == hashlib.sha256(body).digest()
    with pytest.raises(SealedDataError):
        open_body("msg_2", stored, ring)


def test_a_body_stored_in_clear_or_purged_opens_as_it_is() -> None:
    ring = ephemeral_keyring()
    assert open_body("msg_1", b'{"id":"msg_1"}', ring) == b'{"id":"msg_1"}'
    assert open_body("msg_1", b"", ring) == b""
