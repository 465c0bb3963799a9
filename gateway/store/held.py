"""The writer threads' connections, each kept checked out across its thread's transactions.

Checking a connection out of the pool and back in for every transaction ran the pool's
work and the engine's checkout, engine_connect and checkin events each time: in the
end-to-end profile, with `engine.begin()` itself, more of the gateway's CPU than the
intake's own unit of work. A writer thread runs its transactions one after another, so
it keeps one `Connection` and begins and commits each transaction on it; the begin and
commit events (SQLite's BEGIN IMMEDIATE, PostgreSQL's queued BEGIN and COMMIT) still run
for each.

Before each transaction the held connection is looked at as the pool's checkout would:
one that SQLAlchemy invalidated (it saw the connection lost), or whose server ended it
(`alive`: its socket, no round trip), is closed and a fresh one checked out. A
transaction that lost its connection thus costs no later one, and the lost one runs
again on the fresh connection when it may (`gateway.store.retry`).

A held connection is never checked in between transactions, so whatever the pool's
check-in would undo stays: a unit of work on a writer thread must not give its connection
an isolation level or other execution options (`audit_snapshot`, which does, opens a
connection of its own).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

from gateway.store.plain import alive


class HeldConnections:
    """A connection for each thread that begins a transaction here, held until `close`."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._mine = threading.local()  # this thread's connection, as `conn`
        self._lock = threading.Lock()  # over `_held`
        self._held: set[Connection] = set()  # every thread's, for `close`

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction on this thread's connection (a fresh one if it was lost),
        committed as the block ends, rolled back if it raises."""
        conn = self._usable()
        with conn.begin():
            yield conn

    def close(self) -> None:
        """Give every held connection back to the pool (once their threads have ended)."""
        with self._lock:
            held, self._held = self._held, set()
        for conn in held:
            conn.close()

    def _usable(self) -> Connection:
        conn: Connection | None = getattr(self._mine, "conn", None)
        if conn is not None and not _fit(conn):
            self._release(conn)
            conn = None
        if conn is None:
            conn = self._engine.connect()  # the checkout's own check runs here
            with self._lock:
                self._held.add(conn)
            self._mine.conn = conn
        return conn

    def _release(self, conn: Connection) -> None:
        with self._lock:
            self._held.discard(conn)
        self._mine.conn = None
        conn.close()  # an invalidated one is discarded by the pool, not kept


def _fit(conn: Connection) -> bool:
    """Whether a held connection may run the next transaction, without a round trip."""
    if conn.closed or conn.invalidated:
        return False
    if conn.dialect.name != "postgresql":
        return True  # a SQLite file does not go away under its connection
    return alive(conn.connection.driver_connection)
