"""SQL for the security checks: revoked console sessions and the readiness write probe."""

from __future__ import annotations

import json

from sqlalchemy import Connection, delete, insert, select, update

from gateway.service.ports.crypto import PersonalSeal
from gateway.store.schema import console_revocations, handoffs, readiness_probes, work_orders


class SqlSecurity:
    """Revoked console sessions and the readiness probes, in one transaction."""

    def __init__(self, conn: Connection, seal: PersonalSeal) -> None:
        self.conn = conn
        self.seal = seal

    def revoke_session(self, nonce: str, expires_at: float, now: float) -> None:
        """End the session with `nonce` for every process; forget ones expired by `now`."""
        self.conn.execute(delete(console_revocations).where(console_revocations.c.expires_at < now))
        if not self.session_revoked(nonce):
            self.conn.execute(
                insert(console_revocations).values(nonce=nonce, expires_at=expires_at)
            )

    def session_revoked(self, nonce: str) -> bool:
        """True when the session with `nonce` was ended by a logout."""
        query = select(console_revocations.c.nonce).where(console_revocations.c.nonce == nonce)
        return self.conn.execute(query).first() is not None

    def probe_write(self, node: str, now: float) -> None:
        """Rewrite this node's probe row: fails if the database refuses writes."""
        done = self.conn.execute(
            update(readiness_probes).where(readiness_probes.c.node == node).values(at=now)
        )
        if done.rowcount == 0:
            self.conn.execute(insert(readiness_probes).values(node=node, at=now))

    def open_newest_sealed(self) -> None:
        """Open the newest order and handoff body with the configured data keys; raises
        SealedDataError when they cannot be (the keys are wrong or missing)."""
        newest = select(work_orders.c.document).order_by(work_orders.c.created_at.desc())
        document = self.conn.execute(newest.limit(1)).scalar()
        if document is not None:
            self.seal.open_document(json.loads(document))
        body = select(handoffs.c.id, handoffs.c.body).order_by(handoffs.c.seq.desc()).limit(1)
        row = self.conn.execute(body).first()
        if row is not None:
            self.seal.open_body(row.id, bytes(row.body))
