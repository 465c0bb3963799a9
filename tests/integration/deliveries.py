"""What the audit trail says was sent: the delivery entries of one agency, read from the
gateway's database."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import create_engine, select

from gateway.store.schema import audit_log
from gateway.store.sql import normalise_url


@dataclass(frozen=True)
class Recorded:
    """One `delivered` entry: the handoff, the signature it names, and its detail."""

    handoff_id: str
    signature: str | None
    detail: dict[str, Any]


def delivered(database_url: str, party: str) -> list[Recorded]:
    """The `delivered` entries of `party`, oldest first."""
    engine = create_engine(normalise_url(database_url))
    columns = (audit_log.c.handoff_id, audit_log.c.signature, audit_log.c.detail)
    query = (
        select(*columns)
        .where(audit_log.c.event == "delivered", audit_log.c.party == party)
        .order_by(audit_log.c.seq)
    )
    try:
        with engine.connect() as conn:
            rows = conn.execute(query).all()
    finally:
        engine.dispose()
    return [Recorded(row[0], row[1], json.loads(row[2])) for row in rows]
