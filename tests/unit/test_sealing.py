"""The AES-256-GCM keyring for personal data at rest: format, binding, rotation, refusals."""

from __future__ import annotations

import base64

import pytest

from gateway.crypto.sealing import AesGcmKeyring, data_keyring, generate_data_key, parse_data_key
from gateway.domain.errors import ConfigError, SealedDataError


def keyring(*texts: str) -> AesGcmKeyring:
    return AesGcmKeyring([parse_data_key(text) for text in texts])


def test_a_value_round_trips_and_names_its_scheme_and_key() -> None:
    ring = keyring(generate_data_key())
    sealed = ring.encrypt(b"13812345678", b"wo_1|caller.phone")
    assert sealed.startswith(f"v1:{ring.key_id}:") and "13812345678" not in sealed
    assert ring.decrypt(sealed, b"wo_1|caller.phone") == b"13812345678"


def test_the_same_value_encrypts_differently_each_time() -> None:
    ring = keyring(generate_data_key())
    assert ring.encrypt(b"x", b"a") != ring.encrypt(b"x", b"a")


def test_a_value_moved_to_another_order_or_field_does_not_decrypt() -> None:
    ring = keyring(generate_data_key())
    sealed = ring.encrypt(b"13812345678", b"wo_1|caller.phone")
    with pytest.raises(SealedDataError, match="integrity"):
        ring.decrypt(sealed, b"wo_2|caller.phone")
    with pytest.raises(SealedDataError, match="integrity"):
        ring.decrypt(sealed, b"wo_1|caller.name")


def test_an_altered_value_does_not_decrypt() -> None:
    ring = keyring(generate_data_key())
    sealed = ring.encrypt(b"13812345678", b"a")
    head, _, encoded = sealed.rpartition(":")
    raw = bytearray(base64.b64decode(encoded))
    raw[-1] ^= 1
    with pytest.raises(SealedDataError, match="integrity"):
        ring.decrypt(f"{head}:{base64.b64encode(bytes(raw)).decode()}", b"a")


def test_after_rotation_the_new_key_encrypts_and_the_old_one_still_decrypts() -> None:
    old, new = generate_data_key(), generate_data_key()
    sealed_before = keyring(old).encrypt(b"13812345678", b"a")
    rotated = keyring(new, old)
    assert rotated.decrypt(sealed_before, b"a") == b"13812345678"
    assert rotated.encrypt(b"x", b"a").startswith(f"v1:{keyring(new).key_id}:")


def test_a_value_of_a_key_no_longer_configured_names_that_key() -> None:
    old = keyring(generate_data_key())
    sealed = old.encrypt(b"x", b"a")
    with pytest.raises(SealedDataError, match=f"data key {old.key_id}"):
        keyring(generate_data_key()).decrypt(sealed, b"a")


def test_bad_key_texts_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="lxdk_"):
        parse_data_key("whsk_abc")
    with pytest.raises(ConfigError, match="base64"):
        parse_data_key("lxdk_not base64!")
    with pytest.raises(ConfigError, match="32 bytes"):
        parse_data_key("lxdk_" + base64.b64encode(b"short").decode())


def test_without_keys_a_throw_away_key_is_used_with_a_loud_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ring = data_keyring([])
    assert ring.decrypt(ring.encrypt(b"x", b"a"), b"a") == b"x"
    assert "LIANXIN_DATA_KEYS is not set" in caplog.text
    assert "CANNOT be read after a restart" in caplog.text
