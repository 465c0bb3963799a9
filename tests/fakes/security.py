"""The Security port in memory: revoked console sessions and readiness probes."""

from __future__ import annotations

import json

from tests.fakes.state import MemoryState


class MemorySecurity:
    """Revoked sessions by nonce and each node's probe time, as `SqlSecurity` keeps them."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def revoke_session(self, nonce: str, expires_at: float, now: float) -> None:
        revoked = self.state.revoked_sessions
        for gone in [n for n, until in revoked.items() if until < now]:
            del revoked[gone]
        revoked.setdefault(nonce, expires_at)

    def session_revoked(self, nonce: str) -> bool:
        return nonce in self.state.revoked_sessions

    def probe_write(self, node: str, now: float) -> None:
        self.state.probes[node] = now

    def open_newest_sealed(self) -> None:
        """The memory store keeps nothing sealed: reading the newest order is the check."""
        rows = sorted(self.state.orders.values(), key=lambda row: row.created_at)
        if rows:
            json.loads(rows[-1].document)
