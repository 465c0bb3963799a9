"""The national algorithms: SM3 and HMAC-SM3 signatures, SM4-GCM field encryption."""

from __future__ import annotations

import pytest

from gateway.crypto.signing import (
    MessageSigner,
    MessageVerifier,
    generate_hmac_secret,
    generate_sm3_secret,
    parse_signing_key,
    parse_verifying_key,
    sm3_digest,
)
from gateway.crypto.sm4 import generate_sm4_key, parse_sm4_key
from gateway.domain.errors import ConfigError, SignatureError
from gateway.service.field_encryption import encrypt_fields

NOW = 1_764_000_000


def test_sm3_matches_the_standard_test_vector() -> None:
    # GB/T 32905-2016, example 1: "abc"
    assert sm3_digest(b"abc") == (
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    )


def test_an_hmac_sm3_signature_verifies_and_names_its_key() -> None:
    secret = generate_sm3_secret()
    headers = MessageSigner([parse_signing_key(secret)]).headers("m1", b"{}", NOW)
    assert headers["webhook-signature"].startswith("v1sm3,")
    key_id = parse_signing_key(secret).key_id
    assert headers["webhook-key-id"] == f"v1sm3:{key_id}"
    verifier = MessageVerifier([parse_verifying_key(secret)], clock=lambda: NOW)
    assert verifier.verify(headers, b"{}").key_id == key_id


def test_an_sha256_hmac_with_the_same_bytes_does_not_pass_as_sm3() -> None:
    sm3 = generate_sm3_secret()
    sha = "whsec_" + sm3.removeprefix("whsm3_")
    headers = MessageSigner([parse_signing_key(sha)]).headers("m1", b"{}", NOW)
    verifier = MessageVerifier([parse_verifying_key(sm3)], clock=lambda: NOW)
    with pytest.raises(SignatureError) as refused:
        verifier.verify(headers, b"{}")
    assert refused.value.details["reason"] == "no_match"


def test_a_short_sm3_secret_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="at least 16"):
        parse_signing_key("whsm3_c2hvcnQ=")
    assert generate_hmac_secret().startswith("whsec_")


def test_sm4_gcm_fields_round_trip_and_are_bound_to_order_and_field() -> None:
    cipher = parse_sm4_key(generate_sm4_key())
    payload = {"lxr": {"dh": "13800138000", "xm": "陈女士"}, "bt": "标题"}
    sealed = encrypt_fields(payload, ("lxr.dh", "lxr.xm", "absent.path"), cipher, "wo_1")
    assert sealed["bt"] == "标题" and payload["lxr"]["dh"] == "13800138000"
    phone = sealed["lxr"]["dh"]
    assert phone.startswith(f"SM4-GCM:{cipher.key_id}:") and "13800138000" not in phone
    assert cipher.decrypt(phone, b"wo_1|lxr.dh") == b'"13800138000"'
    with pytest.raises(SignatureError):
        cipher.decrypt(phone, b"wo_2|lxr.dh")  # moved to another order
    with pytest.raises(SignatureError):
        cipher.decrypt(sealed["lxr"]["xm"], b"wo_1|lxr.dh")  # moved to another field
    tampered = phone[:-4] + ("AAAA" if not phone.endswith("AAAA") else "BBBB")
    with pytest.raises(SignatureError):
        cipher.decrypt(tampered, b"wo_1|lxr.dh")


def test_sm4_keys_are_checked() -> None:
    with pytest.raises(ConfigError, match="16 bytes"):
        parse_sm4_key("sm4k_c2hvcnQ=")
    with pytest.raises(ConfigError, match="sm4k_"):
        parse_sm4_key("whsec_abc")
