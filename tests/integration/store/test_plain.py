"""`PlainWrite`: Core statements run on the driver write what Core would have written."""

from __future__ import annotations

import pytest
from psycopg import _queries
from sqlalchemy import Engine, bindparam, insert, select, update
from sqlalchemy.exc import OperationalError

from gateway.domain.messages import Lane
from gateway.store import claims
from gateway.store.migrate import upgrade
from gateway.store.plain import PlainRead, PlainWrite, compile_plain
from gateway.store.schema import agency_state, audit_head, poll_cursors
from gateway.store.sql import create_store_engine

pytestmark = pytest.mark.both_databases  # the store is the subject: SQLite and PostgreSQL

ADD = PlainWrite(insert(poll_cursors))
MOVE = PlainWrite(update(poll_cursors).where(poll_cursors.c.party == bindparam("b_party")))
HEAD = PlainWrite(update(audit_head).where(audit_head.c.id == 1))  # a literal in WHERE


def test_inserts_and_updates_run_on_the_driver_in_the_open_transaction(database_url: str) -> None:
    upgrade(database_url)
    engine = create_store_engine(database_url)
    with engine.begin() as conn:
        ADD.run_many(conn, [{"party": p, "cursor": "0", "updated_at": 1} for p in "abc"])
        assert MOVE.run(conn, {"cursor": "9", "updated_at": 2.5, "b_party": "b"}) == 1
        assert MOVE.run(conn, {"cursor": "9", "b_party": "nobody"}) == 0
        assert HEAD.run(conn, {"seq": 7, "hash": "f" * 64}) == 1
    with engine.connect() as conn:
        rows = conn.execute(select(poll_cursors).order_by(poll_cursors.c.party)).all()
        head = conn.execute(select(audit_head.c.seq, audit_head.c.hash)).one()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("a", "0", 1.0), ("b", "9", 2.5), ("c", "0", 1.0)]
    assert all(isinstance(r.updated_at, float) for r in rows)  # Core's Float conversion
    assert tuple(head) == (7, "f" * 64)


def test_a_failed_unit_rolls_back_what_it_wrote_plainly(database_url: str) -> None:
    upgrade(database_url)
    engine = create_store_engine(database_url)
    try:
        with engine.begin() as conn:
            ADD.run(conn, {"party": "gone", "cursor": "1", "updated_at": 1.0})
            raise RuntimeError("the unit fails")
    except RuntimeError:
        pass
    with engine.connect() as conn:
        assert conn.execute(select(poll_cursors)).all() == []
    engine.dispose()


def test_reads_return_tuples_and_refuse_columns_core_would_convert(database_url: str) -> None:
    upgrade(database_url)
    engine = create_store_engine(database_url)
    by_party = PlainRead(
        select(poll_cursors.c.cursor, poll_cursors.c.updated_at).where(
            poll_cursors.c.party == bindparam("party")
        )
    )
    with engine.begin() as conn:
        ADD.run(conn, {"party": "a", "cursor": "7", "updated_at": 3.5})
        assert by_party.first(conn, {"party": "a"}) == ("7", 3.5)
        assert by_party.first(conn, {"party": "b"}) is None
        assert by_party.all(conn, {"party": "a"}) == [("7", 3.5)]
    engine.dispose()
    with pytest.raises(ValueError, match="Core converts Boolean"):
        PlainRead(select(agency_state.c.paused))  # a boolean: 0/1 from SQLite


def test_a_locking_read_locks_on_postgresql_and_runs_plain_on_sqlite(database_url: str) -> None:
    """FOR UPDATE is asked for without a look at the dialect: SQLAlchemy leaves it out on
    SQLite (which has no row locks), and PostgreSQL holds the row until the commit."""
    upgrade(database_url)
    engine = create_store_engine(database_url)
    locked = PlainRead(
        select(poll_cursors.c.cursor).where(poll_cursors.c.party == bindparam("party")),
        for_update=True,
    )
    with engine.begin() as conn:
        ADD.run(conn, {"party": "a", "cursor": "7", "updated_at": 3.5})
    with engine.begin() as conn:
        assert locked.first(conn, {"party": "a"}) == ("7",)
        if conn.dialect.name == "postgresql":
            assert locked_by_another(engine, "a")
    assert not locked_by_another(engine, "a")  # the commit let it go
    sql = compile_plain(locked.statement, engine.dialect).sql
    assert ("FOR UPDATE" in sql) == (engine.dialect.name == "postgresql")
    engine.dispose()


def locked_by_another(engine: Engine, party: str) -> bool:
    """Whether another connection finds the cursor row of `party` locked (PostgreSQL)."""
    if engine.dialect.name != "postgresql":
        return False
    with engine.connect() as other, other.begin():
        try:
            other.exec_driver_sql(
                "SELECT 1 FROM poll_cursors WHERE party = %(party)s FOR UPDATE NOWAIT",
                {"party": party},
            )
        except OperationalError as exc:
            assert getattr(exc.orig, "sqlstate", None) == "55P03"  # lock_not_available
            return True
    return False


def test_a_long_statement_is_converted_once_for_the_driver(postgres_url: str) -> None:
    """The claim SELECT of five agencies is longer than psycopg caches by default: its
    placeholders would be converted again on every claim."""
    upgrade(postgres_url)
    engine = create_store_engine(postgres_url)
    quotas = {f"agency-{n}": 4 for n in range(5)}
    assert len(claims.statement(len(quotas), "postgresql").text) > 4096
    with engine.begin() as conn:
        claims.claimable(conn, 0.0, quotas, Lane.normal)  # converted and kept
        before = _queries._query2pg.cache_info().hits
        claims.claimable(conn, 0.0, quotas, Lane.normal)
        assert _queries._query2pg.cache_info().hits > before
    engine.dispose()


def test_a_connection_asked_for_autocommit_runs_what_no_transaction_may_hold(
    postgres_url: str,
) -> None:
    """The store's engine queues its own BEGIN (the driver is in autocommit mode), but not
    on a connection the caller asked to autocommit: VACUUM refuses a transaction block."""
    upgrade(postgres_url)
    engine = create_store_engine(postgres_url)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE handoffs")
            driver = conn.connection.driver_connection
            assert driver is not None and driver.info.transaction_status.name == "IDLE"
    finally:
        engine.dispose()
