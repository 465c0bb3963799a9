"""Personal data at rest on real SQLite and PostgreSQL: encrypted, read back, purged.

Orders go through the real bootstrap and intake (memory connectors), 40 days in the past,
so `lianxin purge --days 30` finds them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import create_engine, select, text, update

from connectors.memory import MemoryConnector
from gateway.bootstrap import bootstrap, open_sql_store
from gateway.crypto.sealing import AesGcmKeyring, generate_data_key, parse_data_key
from gateway.crypto.signing import generate_ed25519_key
from gateway.domain.errors import SealedDataError
from gateway.domain.states import Status
from gateway.domain.workorder import WorkOrderIn
from gateway.service.audit import verify_chain
from gateway.service.operations.retention import DAY, PURGED, purge
from gateway.service.ports.store import UnitOfWork
from gateway.settings import Settings
from gateway.store.schema import audit_log, handoffs, work_orders
from gateway.store.sql import SqlStore
from tests.integration.api.helpers import order

pytestmark = pytest.mark.both_databases  # the store is the subject: SQLite and PostgreSQL

PHONE, ID_NUMBER = "13900001111", "44010619900101123X"
AGE = 40 * DAY


def filled(url: str, key: str, orders: int = 2) -> list[str]:
    """Orders with a phone and an ID number, delivered, created AGE ago; their ids."""

    async def run() -> list[str]:
        settings = Settings(
            database_url=url,
            hotline_callback_url="memory://hotline",
            signing_keys=[SecretStr(generate_ed25519_key())],
            data_keys=[SecretStr(key)],
        )
        fakes = {n: MemoryConnector(n) for n in ("hotline", "tax-12366", "city-management")}
        gw = bootstrap(settings, connector_overrides=fakes, clock=lambda: time.time() - AGE)
        gw.start()
        ids = []
        for n in range(orders):
            caller = {"name": "李先生", "phone": PHONE, "id_number": ID_NUMBER}
            received = datetime.fromtimestamp(time.time() - AGE, UTC).isoformat()  # as then
            submitted = WorkOrderIn.model_validate(
                order(f"GZ-{n}", caller=caller, received_at=received)
            )
            result = await gw.store.write(lambda uow, s=submitted: gw.intake.accept(uow, s))
            ids.append(result.order.id)
        gw.dispatcher.wake_all()
        while not await settled(gw.store):
            await asyncio.sleep(0.02)
        await gw.aclose()
        return ids

    return asyncio.run(run())


async def settled(sql: SqlStore) -> bool:
    """True once every handoff is delivered (none queued, none in flight)."""
    states = await sql.read(lambda uow: uow.handoff_queries.count_by_state())
    return bool(states) and set(states) == {"delivered"}


def store(url: str, *keys: str) -> SqlStore:
    return open_sql_store(url, cipher=AesGcmKeyring([parse_data_key(k) for k in keys]))


def raw(url: str, query: object) -> list[object]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return list(conn.execute(query).scalars())  # type: ignore[call-overload]
    finally:
        engine.dispose()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )


def test_caller_fields_and_handoff_bodies_are_stored_encrypted(database_url: str) -> None:
    filled(database_url, generate_data_key())
    documents = raw(database_url, select(work_orders.c.document))
    bodies = raw(database_url, select(handoffs.c.body))
    assert documents and bodies
    for document in documents:
        assert PHONE not in str(document) and ID_NUMBER not in str(document)
        assert "李先生" not in str(document) and '"phone":"enc:v1:' in str(document)
    for body in bodies:
        assert bytes(body).startswith(b"enc:v1:")  # type: ignore[arg-type]
        assert PHONE.encode() not in bytes(body)  # type: ignore[arg-type]


def test_the_service_reads_orders_and_bodies_in_clear_and_digests_match(
    database_url: str,
) -> None:
    key = generate_data_key()
    order_id = filled(database_url, key, orders=1)[0]
    sql = store(database_url, key)
    try:
        stored = sql.run_sync(lambda uow: uow.orders.get(order_id), writes=False)
        views = sql.run_sync(lambda uow: uow.handoff_queries.for_order(order_id), writes=False)
    finally:
        sql.engine.dispose()
    assert stored is not None and stored.order.caller is not None
    assert (stored.order.caller.phone, stored.order.caller.id_number) == (PHONE, ID_NUMBER)
    transfer = next(v.handoff for v in views if v.handoff.agency == "tax-12366")
    assert PHONE.encode() in transfer.body or b"lxr" in transfer.body
    for view in views:
        assert hashlib.sha256(view.handoff.body).hexdigest() == view.handoff.body_digest


def test_after_rotation_old_orders_still_read_and_a_dropped_key_is_named(
    database_url: str,
) -> None:
    old, new = generate_data_key(), generate_data_key()
    order_id = filled(database_url, old, orders=1)[0]
    rotated, dropped = store(database_url, new, old), store(database_url, new)
    try:
        stored = rotated.run_sync(lambda uow: uow.orders.get(order_id), writes=False)
        assert stored is not None and stored.order.caller is not None
        assert stored.order.caller.phone == PHONE
        with pytest.raises(SealedDataError, match="LIANXIN_DATA_KEYS does not hold"):
            dropped.run_sync(lambda uow: uow.orders.get(order_id), writes=False)
    finally:
        rotated.engine.dispose()
        dropped.engine.dispose()


def test_purge_erases_old_orders_once_and_the_chain_still_verifies(database_url: str) -> None:
    key = generate_data_key()
    ids = filled(database_url, key)
    sql = store(database_url, key)
    try:
        assert purge(sql.run_sync, time.time(), days=41).orders == 0  # not old enough yet
        report = purge(sql.run_sync, time.time(), days=30, batch=1)
        assert (report.orders, report.fields) == (2, 6) and report.bodies >= 4
        assert purge(sql.run_sync, time.time(), days=30).orders == 0  # once only
        stored = sql.run_sync(lambda uow: uow.orders.get(ids[0]), writes=False)
        chain = verify_chain(sql.audit_records(), sql.audit_head())
    finally:
        sql.engine.dispose()
    assert stored is not None and stored.order.caller is not None
    assert (stored.order.caller.name, stored.order.caller.phone) == (None, None)
    assert set(raw(database_url, select(handoffs.c.body))) == {b""}
    purged = raw(database_url, select(audit_log.c.order_id).where(audit_log.c.event == PURGED))
    assert sorted(purged) == sorted(ids)  # type: ignore[type-var]
    assert chain.ok, chain.problem


def test_purge_leaves_an_order_whose_handoffs_are_still_queued(database_url: str) -> None:
    key = generate_data_key()
    first, second = filled(database_url, key)
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(update(handoffs).where(handoffs.c.order_id == first).values(state="pending"))
    engine.dispose()
    sql = store(database_url, key)
    try:
        report = purge(sql.run_sync, time.time(), days=30)
    finally:
        sql.engine.dispose()
    assert report.orders == 1
    purged = raw(database_url, select(audit_log.c.order_id).where(audit_log.c.event == PURGED))
    assert purged == [second]


@pytest.mark.slow
def test_lianxin_purge_needs_no_data_key_and_audit_verify_passes(database_url: str) -> None:
    filled(database_url, generate_data_key())
    purged = cli("purge", "--days", "30", "--database", database_url)
    assert purged.returncode == 0, purged.stderr
    assert "purged personal data of 2 orders older than 30 days" in purged.stdout
    assert "received message bodies dropped" in purged.stdout
    documents = raw(database_url, text("select document from work_orders"))
    assert all('"phone":null' in str(d) and '"name":null' in str(d) for d in documents)
    verified = cli("audit", "verify", "--database", database_url)
    assert verified.returncode == 0, verified.stderr


def test_lianxin_purge_without_a_retention_period_is_refused() -> None:
    result = cli("purge")
    assert result.returncode == 2
    assert "--days N" in result.stderr and "LIANXIN_RETENTION_DAYS" in result.stderr


class CountingKeyring(AesGcmKeyring):
    """A keyring that counts what it encrypts."""

    encrypted = 0

    def encrypt(self, plaintext: bytes, associated: bytes) -> str:
        self.encrypted += 1
        return super().encrypt(plaintext, associated)


def sealed_caller(url: str, order_id: str) -> dict[str, Any]:
    (document,) = raw(url, select(work_orders.c.document).where(work_orders.c.id == order_id))
    return dict(json.loads(str(document))["caller"])


def rewrite(sql: SqlStore, order_id: str, **caller: str) -> None:
    """Read the order and write it back with another status (and `caller` changes)."""

    def work(uow: UnitOfWork) -> None:
        stored = uow.orders.get(order_id)
        assert stored is not None and stored.order.caller is not None
        person = stored.order.caller.model_copy(update=caller)
        update = {"status": Status.in_progress, "caller": person}
        uow.orders.replace(stored.order.model_copy(update=update))

    sql.run_sync(work)


def test_writing_an_order_again_seals_only_what_changed(database_url: str) -> None:
    old, new = generate_data_key(), generate_data_key()
    order_id = filled(database_url, old, orders=1)[0]
    before = sealed_caller(database_url, order_id)
    ring = CountingKeyring([parse_data_key(old)])
    sql = open_sql_store(database_url, cipher=ring)
    try:
        rewrite(sql, order_id)  # a status change: nothing personal changed
        assert ring.encrypted == 0 and sealed_caller(database_url, order_id) == before
        rewrite(sql, order_id, phone="13700002222")
        after = sealed_caller(database_url, order_id)
        assert ring.encrypted == 1 and after["phone"] != before["phone"]
        assert (after["name"], after["id_number"]) == (before["name"], before["id_number"])
    finally:
        sql.engine.dispose()
    rotated = CountingKeyring([parse_data_key(new), parse_data_key(old)])
    sql = open_sql_store(database_url, cipher=rotated)
    try:
        rewrite(sql, order_id)  # after a rotation, a write re-seals with the newest key
        resealed = sealed_caller(database_url, order_id)
        fields = (resealed["name"], resealed["phone"], resealed["id_number"])
        assert rotated.encrypted == 3
        assert all(value.startswith(f"enc:v1:{rotated.key_id}:") for value in fields)
        stored = sql.run_sync(lambda uow: uow.orders.get(order_id), writes=False)
    finally:
        sql.engine.dispose()
    assert stored is not None and stored.order.caller is not None
    assert (stored.order.caller.phone, stored.order.status) == ("13700002222", Status.in_progress)
