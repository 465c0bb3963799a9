"""A witness that is a second database: one row per checkpoint in an append-only table.

`LIANXIN_WITNESS_DATABASES='["postgresql+psycopg://witness@db2.example.gov.cn/witness"]'`
(a SQLite URL works too). The database should belong to someone else (another team, the
hotline platform), with a role for Lianxin that may only INSERT and SELECT. On first use
Lianxin creates the table `lianxin_witness` (`number` primary key, `line` the same JSON
line a file witness keeps, `recorded_at`) with triggers that refuse UPDATE, DELETE (and
on PostgreSQL TRUNCATE), so a row once written stays as written. Sending a checkpoint
again (after a crash between witnessing and marking it witnessed) is a no-op when the
row is identical and a WitnessError when it differs. `lianxin audit verify --witness URL`
reads it back.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    Table,
    Text,
    create_engine,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from gateway.domain.checkpoint import Checkpoint
from gateway.domain.errors import EvidenceError, WitnessError
from gateway.witnessing.witnesses import parse_witness_line, witness_line

witness_rows = Table(
    "lianxin_witness",
    MetaData(),
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("line", Text, nullable=False),
    Column("recorded_at", Float, nullable=False),
)

_REFUSE = "lianxin_witness is append-only"
_POSTGRES_GUARD = (
    "CREATE OR REPLACE FUNCTION lianxin_witness_append_only() RETURNS trigger "
    f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{_REFUSE}'; END $$",
    "CREATE TRIGGER lianxin_witness_no_change BEFORE UPDATE OR DELETE ON lianxin_witness "
    "FOR EACH ROW EXECUTE FUNCTION lianxin_witness_append_only()",
    "CREATE TRIGGER lianxin_witness_no_truncate BEFORE TRUNCATE ON lianxin_witness "
    "FOR EACH STATEMENT EXECUTE FUNCTION lianxin_witness_append_only()",
)
_SQLITE_GUARD = tuple(
    f"CREATE TRIGGER lianxin_witness_no_{what} BEFORE {what.upper()} ON lianxin_witness "
    f"BEGIN SELECT RAISE(ABORT, '{_REFUSE}'); END"
    for what in ("update", "delete")
)


def is_database_url(source: str) -> bool:
    """True for a witness given as a database URL rather than a file path."""
    return "://" in source


def shown(url: str) -> str:
    """A URL as it may be printed and put in bundles (no password)."""
    return make_url(url).render_as_string(hide_password=True)


class DatabaseWitness:
    """Inserts each checkpoint as a row of the append-only `lianxin_witness` table."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.name = f"database:{shown(url)}"
        self._engine: Engine | None = None

    async def record(self, checkpoint: Checkpoint) -> None:
        try:
            await asyncio.to_thread(self._record, checkpoint)
        except SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc
            raise WitnessError(f"{self.name}: {type(exc).__name__}: {cause}") from exc

    def _record(self, checkpoint: Checkpoint) -> None:
        engine = self._ready()
        number = checkpoint.statement.number
        line = json.dumps(witness_line(checkpoint), sort_keys=True, ensure_ascii=False)
        try:
            with engine.begin() as conn:
                conn.execute(
                    insert(witness_rows).values(number=number, line=line, recorded_at=time.time())
                )
        except IntegrityError:  # held already: the same (sent again) or not
            with engine.connect() as conn:
                held = conn.execute(
                    select(witness_rows.c.line).where(witness_rows.c.number == number)
                ).scalar()
            if held != line:
                raise WitnessError(
                    f"{self.name} already holds a different checkpoint {number}"
                ) from None

    def _ready(self) -> Engine:
        """The engine, the table and its guards created on first use."""
        if self._engine is None:
            engine = create_engine(self.url, pool_pre_ping=True)
            if not inspect(engine).has_table(witness_rows.name):
                _create(engine)
            self._engine = engine
        return self._engine

    def close(self) -> None:
        """Release the witness's connections."""
        if self._engine is not None:
            self._engine.dispose()


def _create(engine: Engine) -> None:
    guard = _SQLITE_GUARD if engine.dialect.name == "sqlite" else _POSTGRES_GUARD
    with engine.begin() as conn:
        witness_rows.create(conn)
        for statement in guard:
            conn.execute(text(statement))


def read_witness_database(url: str) -> list[Checkpoint]:
    """The checkpoints a database witness holds, in number order."""
    name = f"database:{shown(url)}"
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows: list[Any] = list(
                conn.execute(select(witness_rows.c.number, witness_rows.c.line).order_by("number"))
            )
    except SQLAlchemyError as exc:
        raise EvidenceError(f"cannot read witness {name}: {type(exc).__name__}") from exc
    finally:
        engine.dispose()
    checkpoints = []
    for number, line in rows:
        checkpoint = parse_witness_line(name, number, line)
        if checkpoint.statement.number != number:
            raise EvidenceError(
                f"{name}: row {number} holds checkpoint {checkpoint.statement.number}"
            )
        checkpoints.append(checkpoint)
    return checkpoints
