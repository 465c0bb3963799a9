from __future__ import annotations

import pytest

from gateway.domain.errors import ConfigError, SignatureError
from gateway.signing import (
    MessageSigner,
    MessageVerifier,
    generate_ed25519_key,
    generate_hmac_secret,
    parse_signing_key,
    parse_verifying_key,
    public_text_of,
)

BODY = b'{"status":"signed"}'
NOW = 1_800_000_000


def signer(*keys: str) -> MessageSigner:
    return MessageSigner([parse_signing_key(k) for k in keys])


def verifier(*keys: str, tolerance: float = 300) -> MessageVerifier:
    return MessageVerifier([parse_verifying_key(k) for k in keys], tolerance, clock=lambda: NOW)


def reason(headers: dict[str, str], check: MessageVerifier, body: bytes = BODY) -> str:
    with pytest.raises(SignatureError) as caught:
        check.verify(headers, body)
    return str(caught.value.details["reason"])


@pytest.mark.parametrize("make", [generate_ed25519_key, generate_hmac_secret])
def test_a_signature_verifies_with_the_matching_key(make: object) -> None:
    key = make()  # type: ignore[operator]
    check = key if key.startswith("whsec_") else public_text_of(key)
    verified = verifier(check).verify(signer(key).headers("m1", BODY, NOW), BODY)
    assert (verified.msg_id, verified.timestamp) == ("m1", NOW)


def test_during_a_rotation_both_keys_sign_and_either_verifies() -> None:
    old, new = generate_ed25519_key(), generate_ed25519_key()
    headers = signer(new, old).headers("m1", BODY, NOW)
    assert len(headers["webhook-signature"].split()) == 2
    assert verifier(public_text_of(new)).verify(headers, BODY)
    assert verifier(public_text_of(old)).verify(headers, BODY)


def test_a_changed_body_is_refused() -> None:
    key = generate_ed25519_key()
    headers = signer(key).headers("m1", BODY, NOW)
    assert reason(headers, verifier(public_text_of(key)), BODY + b" ") == "no_match"


def test_another_key_is_refused() -> None:
    headers = signer(generate_ed25519_key()).headers("m1", BODY, NOW)
    assert reason(headers, verifier(public_text_of(generate_ed25519_key()))) == "no_match"


def test_a_message_older_than_the_tolerance_is_refused() -> None:
    key = generate_hmac_secret()
    assert reason(signer(key).headers("m1", BODY, NOW - 301), verifier(key)) == "too_old"


def test_a_message_from_the_future_is_refused() -> None:
    key = generate_hmac_secret()
    assert reason(signer(key).headers("m1", BODY, NOW + 301), verifier(key)) == "too_new"


@pytest.mark.parametrize("header", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_each_missing_header_is_named(header: str) -> None:
    key = generate_hmac_secret()
    headers = signer(key).headers("m1", BODY, NOW)
    del headers[header]
    with pytest.raises(SignatureError, match=f"missing header {header}"):
        verifier(key).verify(headers, BODY)


def test_header_names_are_case_insensitive() -> None:
    key = generate_hmac_secret()
    headers = {k.upper(): v for k, v in signer(key).headers("m1", BODY, NOW).items()}
    assert verifier(key).verify(headers, BODY).msg_id == "m1"


def test_entries_of_unknown_schemes_are_ignored() -> None:
    key = generate_hmac_secret()
    headers = signer(key).headers("m1", BODY, NOW)
    headers["webhook-signature"] = "v9,AAAA " + headers["webhook-signature"]
    assert verifier(key).verify(headers, BODY).msg_id == "m1"


def test_a_malformed_signature_header_is_refused() -> None:
    key = generate_hmac_secret()
    headers = {**signer(key).headers("m1", BODY, NOW), "webhook-signature": "v1:abc"}
    assert reason(headers, verifier(key)) == "malformed"


def test_a_verifier_without_keys_says_so() -> None:
    headers = signer(generate_hmac_secret()).headers("m1", BODY, NOW)
    assert reason(headers, verifier()) == "no_key"


def test_a_key_with_an_unknown_prefix_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="whsec_ or whsk_"):
        parse_signing_key("sk_live_123")
