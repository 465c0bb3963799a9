"""SQL for the security checks: revoked console sessions and the readiness write probe."""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, select, update

from gateway.store.schema import console_revocations, readiness_probes


class SqlSecurity:
    """Revoked console sessions and the readiness probe row, in one transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

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
