"""Agency standing in SQL: failures in a row and the standing alert, one row per agency.

Every writing transaction is serialised (the audit head's lock on PostgreSQL, one writer
on SQLite), and each transition is a conditional UPDATE besides: of two processes that
see the same agency fail, only the one whose UPDATE matched announces it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from gateway.service.ports.store import Standing
from gateway.store.plain import Ahead, PlainRead
from gateway.store.schema import agency_standing

_c = agency_standing.c
#: the columns a `Standing` is made of (its fields, by name)
_FIELDS = (
    "agency",
    "announced",
    "failures",
    "failing_since",
    "exhausted_at",
    "exhausted_unreported",
)
# read after every batch of outcomes with a delivery in it (about once per ten outcomes
# under load), on the driver: through Core it cost more than the rest of the batch's reads
_UNSETTLED = PlainRead(
    select(*(_c[name] for name in _FIELDS)).where(
        or_(_c.failures > 0, _c.failing_since.is_not(None), _c.announced != "ok")
    )
)


class SqlStandings:
    """The `agency_standing` table behind the Standings port."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._ahead: Ahead | None = None  # `unsettled` read ahead, not yet answered

    def read_ahead(self) -> None:
        self._ahead = _UNSETTLED.ahead(self.conn, {})

    def drop_read_ahead(self) -> None:
        """Forget a read ahead not yet answered: a unit of work ends (the next reads for
        itself)."""
        self._ahead = None

    def unsettled(self) -> dict[str, Standing]:
        ahead, self._ahead = self._ahead, None
        rows = ahead.rows() if ahead is not None else _UNSETTLED.all(self.conn, {})
        return {row[0]: Standing(**dict(zip(_FIELDS, row, strict=True))) for row in rows}

    def failed(self, agency: str, n: int, first_at: float, now: float) -> Standing:
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(agency_standing).values(
            agency=agency,
            announced="ok",
            failures=n,
            failing_since=first_at,
            exhausted_unreported=0,
            updated_at=now,
        )
        self.conn.execute(
            statement.on_conflict_do_update(
                index_elements=["agency"],
                set_={
                    "failures": _c.failures + n,
                    "failing_since": func.coalesce(_c.failing_since, first_at),
                    "updated_at": now,
                },
            )
        )
        return self._get(agency)

    def delivered(self, agency: str, now: float) -> None:
        self._set(agency, failures=0, failing_since=None, updated_at=now)

    def announce(self, agency: str, to: str, only_from: tuple[str, ...], now: float) -> bool:
        statement = (
            update(agency_standing)
            .where(_c.agency == agency, _c.announced.in_(only_from))
            .values(announced=to, updated_at=now)
        )
        return self.conn.execute(statement).rowcount == 1

    def dead_lettered(self, agency: str, n: int, now: float, interval: float) -> int:
        self._ensure(agency, now)
        self._set(agency, exhausted_unreported=_c.exhausted_unreported + n)
        pending = self._get(agency).exhausted_unreported
        due = or_(_c.exhausted_at.is_(None), _c.exhausted_at <= now - interval)
        statement = (
            update(agency_standing)
            .where(_c.agency == agency, due)
            .values(exhausted_at=now, exhausted_unreported=0)
        )
        return pending if self.conn.execute(statement).rowcount == 1 else 0

    def resumed(self, agency: str, now: float) -> None:
        self._set(agency, failures=0, failing_since=None, updated_at=now)
        self.announce(agency, "resumed", ("disabled",), now)

    def _ensure(self, agency: str, now: float) -> None:
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(agency_standing).values(
            agency=agency, announced="ok", failures=0, exhausted_unreported=0, updated_at=now
        )
        self.conn.execute(statement.on_conflict_do_nothing(index_elements=["agency"]))

    def _get(self, agency: str) -> Standing:
        row = self.conn.execute(select(agency_standing).where(_c.agency == agency)).one()
        return _record(row)

    def _set(self, agency: str, **values: Any) -> None:
        self.conn.execute(update(agency_standing).where(_c.agency == agency).values(**values))


def _record(row: Any) -> Standing:
    return Standing(
        agency=row.agency,
        announced=row.announced,
        failures=row.failures,
        failing_since=row.failing_since,
        exhausted_at=row.exhausted_at,
        exhausted_unreported=row.exhausted_unreported,
    )
