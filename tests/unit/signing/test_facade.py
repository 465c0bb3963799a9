"""The signing facade: round trips, rotation, and every way a message is refused."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from starlette.datastructures import Headers

from gateway.crypto.signing import (
    HEADER_ID,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    MessageSigner,
    MessageVerifier,
    generate_ed25519_key,
    generate_hmac_secret,
    parse_signing_key,
    parse_verifying_key,
    public_text_of,
)
from gateway.domain.errors import ConfigError, SignatureError

BODY = b'{"status":"signed"}'
NOW = 1_800_000_000


def signer(*keys: str) -> MessageSigner:
    return MessageSigner([parse_signing_key(k) for k in keys])


def verifier(*keys: str, tolerance: float = 300) -> MessageVerifier:
    return MessageVerifier([parse_verifying_key(k) for k in keys], tolerance, clock=lambda: NOW)


def refusal(check: MessageVerifier, headers: dict[str, str], body: bytes = BODY) -> SignatureError:
    with pytest.raises(SignatureError) as caught:
        check.verify(headers, body)
    return caught.value


def test_a_v1_hmac_signature_round_trips() -> None:
    secret = generate_hmac_secret()
    headers = signer(secret).headers("m1", BODY, NOW)
    assert headers[HEADER_SIGNATURE].startswith("v1,")
    verified = verifier(secret).verify(headers, BODY)
    assert (verified.msg_id, verified.timestamp) == ("m1", NOW)
    assert verified.key_id == parse_signing_key(secret).key_id


def test_a_v1a_ed25519_signature_round_trips_with_the_public_key() -> None:
    key = generate_ed25519_key()
    headers = signer(key).headers("m1", BODY, NOW)
    assert headers[HEADER_SIGNATURE].startswith("v1a,")
    verified = verifier(public_text_of(key)).verify(headers, BODY)
    assert (verified.msg_id, verified.timestamp) == ("m1", NOW)
    assert verified.key_id == parse_signing_key(key).key_id


def test_the_timestamp_defaults_to_now() -> None:
    headers = signer(generate_hmac_secret()).headers("m1", BODY)
    assert headers[HEADER_TIMESTAMP].isdigit()


def test_two_signing_keys_give_two_signatures_and_the_new_key_alone_accepts() -> None:
    old, new = generate_ed25519_key(), generate_ed25519_key()
    headers = signer(old, new).headers("m1", BODY, NOW)
    assert len(headers[HEADER_SIGNATURE].split(" ")) == 2
    verified = verifier(public_text_of(new)).verify(headers, BODY)
    assert verified.key_id == parse_verifying_key(public_text_of(new)).key_id


def test_a_tampered_body_is_refused() -> None:
    key = generate_ed25519_key()
    headers = signer(key).headers("m1", BODY, NOW)
    error = refusal(verifier(public_text_of(key)), headers, BODY + b" ")
    assert error.details["reason"] == "no_match"


def test_a_signature_by_another_key_is_refused() -> None:
    headers = signer(generate_hmac_secret()).headers("m1", BODY, NOW)
    error = refusal(verifier(generate_hmac_secret()), headers)
    assert error.details["reason"] == "no_match"


def test_a_stale_timestamp_is_refused_saying_by_how_much() -> None:
    secret = generate_hmac_secret()
    error = refusal(verifier(secret), signer(secret).headers("m1", BODY, NOW - 310))
    assert error.details["reason"] == "too_old"
    assert "310s old, 10s beyond" in error.message


def test_a_timestamp_from_the_future_is_refused() -> None:
    secret = generate_hmac_secret()
    error = refusal(verifier(secret), signer(secret).headers("m1", BODY, NOW + 301))
    assert error.details["reason"] == "too_new"
    assert "in the future" in error.message


def test_a_timestamp_within_the_tolerance_is_accepted() -> None:
    secret = generate_hmac_secret()
    headers = signer(secret).headers("m1", BODY, NOW - 300)
    assert verifier(secret).verify(headers, BODY).timestamp == NOW - 300


def test_a_timestamp_that_is_not_an_integer_is_refused() -> None:
    secret = generate_hmac_secret()
    headers = {**signer(secret).headers("m1", BODY, NOW), HEADER_TIMESTAMP: "1.8e9"}
    assert refusal(verifier(secret), headers).details["reason"] == "bad_timestamp"


@pytest.mark.parametrize("header", [HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE])
def test_each_missing_header_is_refused_by_name(header: str) -> None:
    secret = generate_hmac_secret()
    headers = signer(secret).headers("m1", BODY, NOW)
    del headers[header]
    error = refusal(verifier(secret), headers)
    assert error.details == {"reason": "missing_header", "header": header}
    assert header in error.message


@pytest.mark.parametrize("value", ["v1:abc", "v1,", ",abc", "v1,not*base64"])
def test_a_malformed_signature_header_is_refused(value: str) -> None:
    secret = generate_hmac_secret()
    headers = {**signer(secret).headers("m1", BODY, NOW), HEADER_SIGNATURE: value}
    assert refusal(verifier(secret), headers).details["reason"] == "malformed"


def test_entries_of_unknown_schemes_are_ignored() -> None:
    secret = generate_hmac_secret()
    headers = signer(secret).headers("m1", BODY, NOW)
    headers[HEADER_SIGNATURE] = f"v9,AAAA v2,?? {headers[HEADER_SIGNATURE]}"
    assert verifier(secret).verify(headers, BODY).msg_id == "m1"


def test_only_unknown_schemes_match_nothing() -> None:
    secret = generate_hmac_secret()
    headers = {**signer(secret).headers("m1", BODY, NOW), HEADER_SIGNATURE: "v9,AAAA"}
    assert refusal(verifier(secret), headers).details["reason"] == "no_match"


def test_header_names_are_case_insensitive() -> None:
    secret = generate_hmac_secret()
    headers = {k.upper(): v for k, v in signer(secret).headers("m1", BODY, NOW).items()}
    assert verifier(secret).verify(headers, BODY).msg_id == "m1"


def test_a_verifier_without_keys_says_so() -> None:
    headers = signer(generate_hmac_secret()).headers("m1", BODY, NOW)
    assert refusal(verifier(), headers).details["reason"] == "no_key"


def test_a_refusal_never_shows_the_secret() -> None:
    secret = generate_hmac_secret()
    error = refusal(verifier(secret), signer(generate_hmac_secret()).headers("m1", BODY, NOW))
    assert secret.removeprefix("whsec_") not in f"{error} {error.details}"


def test_an_ed25519_public_key_text_round_trips() -> None:
    public = public_text_of(generate_ed25519_key())
    assert parse_verifying_key(public).public_text() == public


def test_an_hmac_secret_has_no_public_text() -> None:
    with pytest.raises(ValueError):
        parse_verifying_key(generate_hmac_secret()).public_text()


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        (parse_signing_key, "sk_live_123"),
        (parse_signing_key, "whsk_AAAA"),
        (parse_signing_key, "whsec_"),
        (parse_signing_key, "whsec_not*base64"),
        (parse_verifying_key, "whpk_AAAA"),
    ],
)
def test_unusable_key_text_is_a_config_error(parse: Callable[[str], object], text: str) -> None:
    with pytest.raises(ConfigError):
        parse(text)


def test_a_signer_needs_a_key() -> None:
    with pytest.raises(ConfigError):
        MessageSigner([])


def test_starlette_headers_are_accepted() -> None:
    secret = generate_hmac_secret()
    raw = {k.title(): v for k, v in signer(secret).headers("m1", BODY, NOW).items()}
    assert verifier(secret).verify(Headers(raw), BODY).msg_id == "m1"
