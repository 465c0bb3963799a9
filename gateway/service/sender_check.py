"""Checking, offline, the senders' own signatures on the messages a bundle says were received.

A received message's entries keep its sender's signature material (`signed`, see
gateway/domain/evidence.py). Standard Webhooks signs `{id}.{timestamp}.{body}`, so the
signature verifies again only with the exact body; a `personal_data: "plain"` bundle
carries it (base64), a masked one does not. Each message ends in one of four states:
verified, withheld (masked bundle), shared_secret (HMAC only: no third party can check
it) or unsigned (its transport carried no signature). Anything else fails, naming it.
"""

from __future__ import annotations

import base64
import binascii

from gateway.crypto.signing import public_schemes, signature_checks
from gateway.domain.errors import ConfigError, EvidenceError
from gateway.domain.evidence import STANDARD_WEBHOOKS, UNSIGNED, Bundle, MessageJson
from gateway.service.audit import digest

STATES = ("verified", "withheld", "shared_secret", "unsigned")


def check_senders(bundle: Bundle) -> dict[str, int]:
    """How many received messages ended in each state; EvidenceError on the first that fails."""
    counts = dict.fromkeys(STATES, 0)
    seen: set[tuple[str | None, str | None]] = set()
    for message in bundle.messages:
        if message.signed is None:
            if message.body is not None:
                raise EvidenceError(f"message of entry {message.seq}: a body without a sender")
            continue
        state = _check(bundle, message)
        if (message.party, message.message_id) not in seen:  # one message, several entries
            seen.add((message.party, message.message_id))
            counts[state] += 1
    return counts


def _check(bundle: Bundle, message: MessageJson) -> str:
    signed = message.signed or {}
    where = f"message of entry {message.seq} (from {message.party}, id {message.message_id})"
    body = _body(bundle, message, where)
    if body is not None and digest(body) != signed.get("body_sha256"):
        raise EvidenceError(f"{where}: its body does not match the digest the entry records")
    scheme = signed.get("scheme")
    if scheme == UNSIGNED:
        return "unsigned"
    if scheme != STANDARD_WEBHOOKS:
        raise EvidenceError(f"{where}: unknown signature scheme {scheme!r}")
    header, msg_id, timestamp = signed.get("signature"), signed.get("id"), signed.get("timestamp")
    if not (isinstance(header, str) and isinstance(timestamp, int) and isinstance(msg_id, str)):
        raise EvidenceError(f"{where}: its signature material is incomplete")
    if msg_id != message.message_id:
        raise EvidenceError(f"{where}: its signature material is incomplete")
    if not public_schemes(header):
        return "shared_secret"
    if body is None:
        return "withheld"
    keys = bundle.keys.get(message.party or "", [])
    if not keys:
        raise EvidenceError(f"{where}: the bundle holds no public key for {message.party}")
    try:
        checked = signature_checks(msg_id, timestamp, body, header, keys)
    except ConfigError as exc:  # a key's text was changed
        raise EvidenceError(f"{where}: keys.{message.party}: {exc.message}") from exc
    if checked is None:
        raise EvidenceError(
            f"{where}: the sender's signature does not verify over its id, timestamp and "
            f"body with keys.{message.party}"
        )
    return "verified"


def _body(bundle: Bundle, message: MessageJson, where: str) -> bytes | None:
    if message.body is None:
        return None
    if bundle.personal_data != "plain":
        raise EvidenceError(f"{where}: a body in a bundle marked {bundle.personal_data!r}")
    try:
        return base64.b64decode(message.body, validate=True)
    except (binascii.Error, ValueError):
        raise EvidenceError(f"{where}: its body is not base64") from None
