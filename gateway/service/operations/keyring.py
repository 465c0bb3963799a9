"""Key rotation with an overlap window: which keys sign and verify, and when old ones retire.

`lianxin keys rotate AGENCY --key …` records an agency's new key; `lianxin keys rotate self`
makes a new Ed25519 key for Lianxin, sealed in the database with the data keys. The keys
that were in use (configured ones included) keep working until the overlap window ends,
then retire: during the window Lianxin signs with old and new keys (Standard Webhooks
carries several signatures) and accepts either; after it, only the new one. Every rotation
and every retirement is an audit entry naming who did it.

The signers and verifiers built at start-up are updated in place by `refresh`, which every
process runs every few seconds, so a rotation made by the CLI reaches running gateways
without a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from gateway.crypto.signing import (
    MessageSigner,
    MessageVerifier,
    generate_ed25519_key,
    parse_signing_key,
    parse_verifying_key,
)
from gateway.domain.audit import AuditEvent, AuditKind
from gateway.domain.errors import ConfigError
from gateway.service.ports.crypto import DataCipher, KeyRecord, SigningKey, VerifyingKey
from gateway.service.ports.store import Store, UnitOfWork

log = logging.getLogger("lianxin.keys")
SELF = "self"


@dataclass
class Configured:
    """The keys from the environment and the profiles, before any rotation."""

    own: list[SigningKey]  # Lianxin's Ed25519 keys
    verifying: Mapping[str, list[VerifyingKey]]  # per agency
    shared: Mapping[str, list[SigningKey]]  # per HMAC agency: the secrets we sign with


class KeyRing:
    """Keeps every signer and verifier on the keys in force now."""

    def __init__(
        self,
        store: Store,
        configured: Configured,
        signers: Mapping[str, MessageSigner],
        verifiers: Mapping[str, MessageVerifier],
        public_keys: list[str],
        sealer: DataCipher | None,
        clock: Callable[[], float],
    ) -> None:
        self.store = store
        self.configured = configured
        self.signers = signers
        self.verifiers = verifiers
        self.public_keys = public_keys
        self.sealer = sealer
        self.clock = clock

    async def run(self, interval: float = 5.0) -> None:
        """Refresh until cancelled."""
        while True:
            try:
                await self.refresh()
            except Exception:
                log.exception("refreshing the keys failed; keeping the current ones")
            await asyncio.sleep(interval)

    async def refresh(self) -> None:
        """Retire what is due (audited once) and put the keys in force on every signer.

        A read first: most refreshes find nothing due and need no write transaction.
        """
        now = self.clock()
        records = await self.store.read(lambda uow: uow.keys.all())
        if any(_retirement_due(record, now) for record in records):
            records = await self.store.write(lambda uow: self._retire_due(uow, now))
        self.apply(records)

    def apply(self, records: list[KeyRecord]) -> None:
        """Point signers and verifiers at the keys `records` leave in force."""
        by_owner: dict[str, list[KeyRecord]] = {}
        for record in records:
            by_owner.setdefault(record.owner, []).append(record)
        own = self._own(by_owner.get(SELF, []))
        self.public_keys[:] = [key.verifying_key().public_text() for key in own]
        for agency, signer in self.signers.items():
            shared = self.configured.shared.get(agency)
            if shared is None:
                signer.keys = own
            else:
                signer.keys = _in_force(shared, by_owner.get(agency, []), _signing)
        for agency, verifier in self.verifiers.items():
            base = self.configured.verifying.get(agency, [])
            verifier.keys = _in_force(base, by_owner.get(agency, []), _verifying)

    def _own(self, records: list[KeyRecord]) -> list[SigningKey]:
        keys = _in_force(self.configured.own, records, self._unseal)
        return keys or self.configured.own  # never left without a key

    def _unseal(self, record: KeyRecord) -> SigningKey:
        if self.sealer is None or record.material is None:
            raise ConfigError("Lianxin's rotated keys need LIANXIN_DATA_KEYS to be read")
        text = self.sealer.decrypt(record.material, _sealed_for(record.key_id)).decode()
        return parse_signing_key(text)

    def _retire_due(self, uow: UnitOfWork, now: float) -> list[KeyRecord]:
        for record in uow.keys.retire_due(now):
            detail = {"key_id": record.key_id, "scheme": record.scheme}
            uow.audit.append(AuditEvent(AuditKind.key_retired, party=record.owner, detail=detail))
        return uow.keys.all()

    def rotate_self(self, uow: UnitOfWork, overlap: float, by: str) -> KeyRecord:
        """A new Ed25519 key for Lianxin; the keys in use retire after `overlap` seconds."""
        if self.sealer is None:
            raise ConfigError(
                "set LIANXIN_DATA_KEYS: Lianxin's own rotated keys are stored sealed with it"
            )
        text = generate_ed25519_key()
        key = parse_signing_key(text)
        sealed = self.sealer.encrypt(text.encode(), _sealed_for(key.key_id))
        return self._rotate(uow, SELF, key.key_id, key.scheme, sealed, overlap, by)

    def rotate_agency(
        self, uow: UnitOfWork, agency: str, key_text: str, overlap: float, by: str
    ) -> KeyRecord:
        """An agency's new key (whpk_, whsec_ or whsm3_); its old keys retire after `overlap`."""
        if agency not in self.verifiers:
            raise ConfigError(f"no agency profile named '{agency}'")
        key = parse_verifying_key(key_text)
        return self._rotate(uow, agency, key.key_id, key.scheme, key_text, overlap, by)

    def _rotate(
        self,
        uow: UnitOfWork,
        owner: str,
        key_id: str,
        scheme: str,
        material: str,
        overlap: float,
        by: str,
    ) -> KeyRecord:
        now = self.clock()
        known = {record.key_id for record in uow.keys.of(owner)}
        if key_id in known:
            raise ConfigError(f"key {key_id} of '{owner}' is already known")
        for configured_id, configured_scheme in self._configured_ids(owner):
            if configured_id not in known and configured_id != key_id:
                uow.keys.add(
                    KeyRecord(owner, configured_id, configured_scheme, None, "active", now)
                )
        record = KeyRecord(owner, key_id, scheme, material, "active", now)
        uow.keys.add(record)
        retiring = uow.keys.retire_others(owner, key_id, now + overlap)
        detail = {
            "key_id": key_id,
            "scheme": scheme,
            "retiring": retiring,
            "overlap_seconds": overlap,
            "by": by,
        }
        uow.audit.append(AuditEvent(AuditKind.key_rotated, party=owner, detail=detail))
        return record

    def _configured_ids(self, owner: str) -> list[tuple[str, str]]:
        if owner == SELF:
            return [(key.key_id, key.scheme) for key in self.configured.own]
        keys = self.configured.verifying.get(owner, [])
        return [(key.key_id, key.scheme) for key in keys]


K = TypeVar("K", SigningKey, VerifyingKey)


def _in_force(
    configured: list[K], records: list[KeyRecord], load: Callable[[KeyRecord], K]
) -> list[K]:
    """Rotated keys not retired (newest first), then configured keys not retired."""
    retired = {r.key_id for r in records if r.state == "retired"}
    rotated = [load(r) for r in records if r.state != "retired" and r.material is not None]
    return rotated + [key for key in configured if key.key_id not in retired]


def _retirement_due(record: KeyRecord, now: float) -> bool:
    return record.state == "retiring" and record.retire_at is not None and record.retire_at <= now


def _signing(record: KeyRecord) -> SigningKey:
    assert record.material is not None
    return parse_signing_key(record.material)


def _verifying(record: KeyRecord) -> VerifyingKey:
    assert record.material is not None
    return parse_verifying_key(record.material)


def _sealed_for(key_id: str) -> bytes:
    return f"signing-key|self|{key_id}".encode()
