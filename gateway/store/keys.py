"""Rotated signing keys in SQL: who owns them, their state and overlap window."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Select, and_, insert, select, update

from gateway.service.ports.crypto import KeyRecord
from gateway.store.schema import signing_keys


class SqlKeys:
    """The `signing_keys` table."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def of(self, owner: str) -> list[KeyRecord]:
        """Every key of `owner`, newest first."""
        query = (
            select(signing_keys)
            .where(signing_keys.c.owner == owner)
            .order_by(signing_keys.c.created_at.desc())
        )
        return [_record(row) for row in self.conn.execute(query)]

    def all(self) -> list[KeyRecord]:
        """Every key, by owner, newest first."""
        query = select(signing_keys).order_by(
            signing_keys.c.owner, signing_keys.c.created_at.desc()
        )
        return [_record(row) for row in self.conn.execute(query)]

    def add(self, record: KeyRecord) -> None:
        """Record a key (a new one, or a configured one the rotation starts to retire)."""
        self.conn.execute(
            insert(signing_keys).values(
                owner=record.owner,
                key_id=record.key_id,
                scheme=record.scheme,
                material=record.material,
                state=record.state,
                created_at=record.created_at,
                retire_at=record.retire_at,
            )
        )

    def retire_others(self, owner: str, keep: str, at: float) -> list[str]:
        """Start the overlap window of every active key of `owner` but `keep`; their ids."""
        active = and_(
            signing_keys.c.owner == owner,
            signing_keys.c.key_id != keep,
            signing_keys.c.state == "active",
        )
        ids = list(
            self.conn.execute(_locked(select(signing_keys.c.key_id).where(active))).scalars()
        )
        self.conn.execute(update(signing_keys).where(active).values(state="retiring", retire_at=at))
        return ids

    def retire_due(self, now: float) -> list[KeyRecord]:
        """Mark retired every key whose overlap window has passed; those keys."""
        due = and_(signing_keys.c.state == "retiring", signing_keys.c.retire_at <= now)
        rows = [_record(row) for row in self.conn.execute(_locked(select(signing_keys).where(due)))]
        if rows:
            self.conn.execute(
                update(signing_keys).where(due).values(state="retired", retired_at=now)
            )
        return rows


def _locked(query: Select[Any]) -> Select[Any]:
    """`query` taking its rows' locks (PostgreSQL): two processes retiring the same keys
    at once would otherwise both audit it; the second now reads them already retired."""
    return query.with_for_update()


def _record(row: object) -> KeyRecord:
    return KeyRecord(
        owner=row.owner,  # type: ignore[attr-defined]
        key_id=row.key_id,  # type: ignore[attr-defined]
        scheme=row.scheme,  # type: ignore[attr-defined]
        material=row.material,  # type: ignore[attr-defined]
        state=row.state,  # type: ignore[attr-defined]
        created_at=row.created_at,  # type: ignore[attr-defined]
        retire_at=row.retire_at,  # type: ignore[attr-defined]
    )
