"""The key policy: which configured keys sign and verify for whom, and which SM4 key
encrypts an agency's fields. Bootstrap calls these once, at start-up.

- Lianxin's own keys (LIANXIN_SIGNING_KEYS) are Ed25519 (`whsk_…`); without any, a
  throw-away key signs and a warning says agencies cannot verify it after a restart.
- An agency whose profile signs with `v1a` is signed for with Lianxin's own keys; one that
  signs with HMAC (`v1`, `v1sm3`) needs its shared secret in LIANXIN_AGENCY_SECRETS, of
  the profile's scheme.
- An agency's messages verify with the profile's and LIANXIN_AGENCY_KEYS' public keys and
  its shared secret; a `v1sm3` profile accepts SM3 only (the national algorithms).
- A profile that requires field encryption needs an `sm4k_` key in
  LIANXIN_AGENCY_FIELD_KEYS.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from gateway.crypto.signing import (
    MessageSigner,
    MessageVerifier,
    generate_ed25519_key,
    parse_signing_key,
    parse_verifying_key,
)
from gateway.crypto.sm4 import Sm4GcmCipher, parse_sm4_key
from gateway.domain.errors import ConfigError
from gateway.mapping.profiles import AgencyProfile
from gateway.service.ports.crypto import SigningKey
from gateway.settings import Settings

log = logging.getLogger("lianxin")


def own_keys(settings: Settings) -> list[SigningKey]:
    """Lianxin's own Ed25519 keys, or one throw-away key (with a warning) when none is set."""
    if settings.signing_keys:
        keys = [parse_signing_key(k.get_secret_value()) for k in settings.signing_keys]
        if any(key.scheme != "v1a" for key in keys):
            raise ConfigError(
                "LIANXIN_SIGNING_KEYS holds Lianxin's own Ed25519 keys (whsk_…); "
                "shared secrets (whsec_, whsm3_) go in LIANXIN_AGENCY_SECRETS"
            )
        return keys
    key = parse_signing_key(generate_ed25519_key())
    log.warning(
        "LIANXIN_SIGNING_KEYS is not set: signing with a throw-away key %s (public %s); "
        "agencies cannot verify it after a restart",
        key.key_id,
        key.verifying_key().public_text(),
    )
    return [key]


def signer_for(profile: AgencyProfile, own: list[SigningKey], settings: Settings) -> MessageSigner:
    """What signs messages to `profile`'s agency: Lianxin's keys, or the shared secret."""
    scheme = profile.signing.scheme
    if scheme == "v1a":
        return MessageSigner(own)
    secret = settings.agency_secrets.get(profile.id)
    if secret is None:
        raise ConfigError(
            f"agency '{profile.id}' signs with {scheme} (HMAC) "
            "but LIANXIN_AGENCY_SECRETS has no secret for it"
        )
    key = parse_signing_key(secret.get_secret_value())
    if key.scheme != scheme:
        prefix = "whsm3_" if scheme == "v1sm3" else "whsec_"
        raise ConfigError(
            f"agency '{profile.id}' signs with {scheme}: its secret in "
            f"LIANXIN_AGENCY_SECRETS must be {prefix}…, not a {key.scheme} key"
        )
    return MessageSigner([key])


def verifier_for(profile: AgencyProfile, settings: Settings) -> MessageVerifier:
    """What checks messages from `profile`'s agency."""
    texts = [*profile.inbound.public_keys, *settings.agency_keys.get(profile.id, [])]
    secret = settings.agency_secrets.get(profile.id)
    if secret is not None:
        texts.append(secret.get_secret_value())
    keys = [parse_verifying_key(text) for text in texts]
    if profile.signing.scheme == "v1sm3":  # the national algorithms are required: only SM3
        keys = [key for key in keys if key.scheme == "v1sm3"]
    return MessageVerifier(keys, tolerance=profile.inbound.tolerance)


def field_ciphers(
    profiles: Mapping[str, AgencyProfile], settings: Settings
) -> dict[str, Sm4GcmCipher]:
    """An SM4-GCM cipher for every profile that requires field encryption."""
    ciphers: dict[str, Sm4GcmCipher] = {}
    for name, profile in profiles.items():
        if profile.field_encryption is None:
            continue
        key = settings.agency_field_keys.get(name)
        if key is None:
            raise ConfigError(
                f"agency '{name}' requires {profile.field_encryption.algorithm} field "
                "encryption but LIANXIN_AGENCY_FIELD_KEYS has no sm4k_ key for it"
            )
        ciphers[name] = parse_sm4_key(key.get_secret_value())
    return ciphers
