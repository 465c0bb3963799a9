"""A real audit trail with witnessed checkpoints, and the rewrites of someone who can
write the database: re-hashing the chain and moving the head so it verifies alone."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import Connection, create_engine, text

import connectors
from connectors.memory import MemoryConnector
from gateway.bootstrap import Gateway, bootstrap
from gateway.crypto.signing import generate_ed25519_key
from gateway.domain.workorder import WorkOrderIn
from gateway.mapping.loader import load_mappings
from gateway.service.audit import GENESIS, entry_hash
from gateway.settings import Settings
from tests.integration.api.helpers import order


def settings_for(url: str, witness: Path, key: str | None = None, **more: Any) -> Settings:
    """Settings with a file witness and small checkpoints (every 10 entries)."""
    return Settings(
        database_url=url,
        hotline_callback_url="memory://hotline",
        signing_keys=[SecretStr(generate_ed25519_key())],
        checkpoint_key=SecretStr(key or generate_ed25519_key()),
        checkpoint_entries=10,
        checkpoint_interval=0.2,
        witness_files=[witness],
        **more,
    )


def every_agency(settings: Settings) -> list[str]:
    """Every profile's name: all get memory connectors (no broker, no SOAP peer needed)."""
    mappings = load_mappings(settings.mappings_dir, settings.catalogue, connectors.TRANSPORTS)
    return sorted(mappings.agencies)


async def run_orders(gw: Gateway, fakes: dict[str, MemoryConnector], orders: int) -> None:
    """Submit orders one by one, each until the hotline heard of it, with checkpoints between."""
    for n in range(orders):
        submitted = WorkOrderIn.model_validate(order(f"GZ-{n}"))
        await gw.store.write(lambda uow, s=submitted: gw.intake.accept(uow, s))
        gw.dispatcher.wake_all()
        while len(fakes["hotline"].delivered) < n + 1:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)


def filled(url: str, witness: Path, orders: int = 16, key: str | None = None, **more: Any) -> None:
    """Orders through intake and delivery (about four entries each: 16 make more than the
    50 a rewrite cuts); closing the gateway checkpoints the rest."""

    settings = settings_for(url, witness, key, **more)

    async def run() -> None:
        fakes = {name: MemoryConnector(name) for name in every_agency(settings)}
        gw = bootstrap(settings, connector_overrides=fakes)
        gw.start()
        await run_orders(gw, fakes, orders)
        await gw.aclose()

    asyncio.run(run())


def verify(url: str, *more: str) -> subprocess.CompletedProcess[str]:
    """`lianxin audit verify --database URL …`."""
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", "audit", "verify", "--database", url, *more],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def engine_for(url: str) -> Any:
    """A plain engine on the gateway's database, as an intruder would use."""
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://"))


def head_seq(conn: Connection) -> int:
    """The head row's sequence number."""
    return int(conn.execute(text("SELECT seq FROM audit_head WHERE id = 1")).scalar_one())


def rehash_from(conn: Connection, start: int) -> None:
    """Recompute every link and hash from entry `start` on, and move the head to the end."""
    rows = conn.execute(
        text(
            "SELECT seq, at_us, event, order_id, handoff_id, party, payload_digest, signature,"
            " detail, entry_hash FROM audit_log ORDER BY seq"
        )
    ).all()
    prev = GENESIS
    for row in rows:
        if row.seq >= start:
            fields = {
                "event": row.event, "order_id": row.order_id, "handoff_id": row.handoff_id,
                "party": row.party, "payload_digest": row.payload_digest,
                "signature": row.signature, "detail": row.detail,
            }  # fmt: skip
            new = entry_hash(prev, row.seq, row.at_us, fields)
            conn.execute(
                text("UPDATE audit_log SET prev_hash = :p, entry_hash = :h WHERE seq = :s"),
                {"p": prev, "h": new, "s": row.seq},
            )
            prev = new
        else:
            prev = row.entry_hash
    last = rows[-1].seq if rows else 0
    conn.execute(
        text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"),
        {"s": last, "h": prev if rows else GENESIS},
    )


def cut_tail(conn: Connection, count: int) -> int:
    """Delete the last `count` entries and move the head back; the first entry cut."""
    keep = head_seq(conn) - count
    conn.execute(text("DELETE FROM audit_log WHERE seq > :k"), {"k": keep})
    rehash_from(conn, keep + 1)
    return keep + 1


def delete_everything(conn: Connection) -> int:
    """Delete every entry and reset the head."""
    conn.execute(text("DELETE FROM audit_log"))
    conn.execute(text("UPDATE audit_head SET seq = 0, hash = :g WHERE id = 1"), {"g": GENESIS})
    return 1


def edit_and_rehash(conn: Connection, seq: int) -> int:
    """Change entry `seq` and re-hash every entry after it."""
    conn.execute(
        text("UPDATE audit_log SET detail = :d WHERE seq = :s"), {"d": '{"forged":true}', "s": seq}
    )
    rehash_from(conn, seq)
    return seq


def delete_and_renumber(conn: Connection, seq: int) -> int:
    """Delete entry `seq`, renumber the rest down by one, and re-hash."""
    conn.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": seq})
    later = conn.execute(
        text("SELECT seq FROM audit_log WHERE seq > :s ORDER BY seq"), {"s": seq}
    ).scalars()
    for old in list(later):
        conn.execute(text("UPDATE audit_log SET seq = :n WHERE seq = :o"), {"n": old - 1, "o": old})
    rehash_from(conn, seq)
    return seq
