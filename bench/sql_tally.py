"""Counting what the database is asked to do, per phase of a run, on every pooled connection.

SQLite: `set_trace_callback` on each connection the engines of this process open, so every
statement SQLite runs is seen (an executemany once per row, as SQLite steps it), with its
text. PostgreSQL: libpq's protocol trace (`PQtrace`), one file per connection and phase,
read afterwards: each CommandComplete is one statement the server ran (an executemany
once per row), tagged with its verb; each switch from messages the client sent to messages
the server sent is one round trip (a pipeline of several statements counts once).

Phases let a run count only what it measures: `phase("orders")` starts one; every
statement belongs to the phase current when it ran (SQLite) or when its connection was
last taken from the pool or began a transaction (PostgreSQL: the trace moves to a new file
then, on the connection's own thread; a store's writer holds its connection out of the
pool across transactions, so its statements count by the phase of their transaction).
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psycopg import pq
from sqlalchemy import Connection, Engine, event
from sqlalchemy.pool import Pool

TRANSACTION_VERBS = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}
REPORTED_VERBS = ("INSERT", "UPDATE", "SELECT", "DELETE")


def verb_of(sql: str) -> str:
    """The statement's verb (a CTE counts as a SELECT; a trigger's body as TRIGGER)."""
    text = sql.lstrip()
    if text.startswith("--"):
        return "TRIGGER"
    word = text.split(None, 1)[0].upper() if text else ""
    return "SELECT" if word == "WITH" else word


@dataclass
class Tally:
    """Statements by verb, and round trips where they can be counted (None: not counted)."""

    verbs: Counter[str] = field(default_factory=Counter)
    round_trips: int | None = None

    @property
    def commits(self) -> int:
        """Transactions committed."""
        return self.verbs["COMMIT"]

    @property
    def statements(self) -> int:
        """Every statement, transaction control included."""
        return sum(self.verbs.values())

    def by_group(self) -> dict[str, int]:
        """INSERT, UPDATE, SELECT, DELETE, transaction control, other."""
        groups = {verb: self.verbs[verb] for verb in REPORTED_VERBS}
        groups["BEGIN/COMMIT/…"] = sum(self.verbs[v] for v in TRANSACTION_VERBS)
        known = set(REPORTED_VERBS) | TRANSACTION_VERBS
        groups["other"] = sum(n for v, n in self.verbs.items() if v not in known)
        return groups

    def others(self) -> dict[str, int]:
        """The verbs counted as other, each with its count."""
        known = set(REPORTED_VERBS) | TRANSACTION_VERBS
        return {verb: n for verb, n in self.verbs.most_common() if verb not in known}


class SqlTally:
    """Hooks on every SQLAlchemy pool of this process, from `install()` until `remove()`."""

    def __init__(self, trace_dir: Path) -> None:
        self.trace_dir = trace_dir
        self.current = "start"
        self._sqlite: dict[str, Counter[str]] = {}
        self._lock = threading.Lock()
        self._traced: dict[int, tuple[str, int]] = {}  # id(pgconn) → (phase, fd)
        self._files = 0

    def install(self) -> None:
        """Listen on every pool's connect, checkout and close."""
        event.listen(Pool, "connect", self._connect)
        event.listen(Pool, "checkout", self._checkout)
        event.listen(Engine, "begin", self._begin)
        event.listen(Pool, "close", self._close)

    def remove(self) -> None:
        """Stop listening (connections still open keep their hooks until closed)."""
        event.remove(Pool, "connect", self._connect)
        event.remove(Pool, "checkout", self._checkout)
        event.remove(Engine, "begin", self._begin)
        event.remove(Pool, "close", self._close)

    def phase(self, name: str) -> None:
        """From now on, count into phase `name`."""
        self.current = name

    def _connect(self, dbapi: Any, _record: Any) -> None:
        if hasattr(dbapi, "set_trace_callback"):
            dbapi.set_trace_callback(self._statement)
        elif hasattr(dbapi, "pgconn"):
            self._trace(dbapi.pgconn)

    def _statement(self, sql: str) -> None:
        with self._lock:
            self._sqlite.setdefault(self.current, Counter())[verb_of(sql)] += 1

    def _checkout(self, dbapi: Any, _record: Any, _proxy: Any) -> None:
        traced = self._traced.get(id(getattr(dbapi, "pgconn", None)))
        if traced is not None and traced[0] != self.current:
            self._untrace(dbapi.pgconn)
            self._trace(dbapi.pgconn)

    def _begin(self, conn: Connection) -> None:
        self._checkout(conn.connection.driver_connection, None, None)

    def _close(self, dbapi: Any, _record: Any) -> None:
        if id(getattr(dbapi, "pgconn", None)) in self._traced:
            self._untrace(dbapi.pgconn)

    def _trace(self, pgconn: Any) -> None:
        with self._lock:
            self._files += 1
            path = self.trace_dir / f"{self.current}.{self._files}.trace"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        pgconn.trace(fd)
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        self._traced[id(pgconn)] = (self.current, fd)

    def _untrace(self, pgconn: Any) -> None:
        _, fd = self._traced.pop(id(pgconn))
        pgconn.untrace()  # libpq flushes the file here
        os.close(fd)

    def tally(self, phase: str) -> Tally:
        """What was counted in `phase` (PostgreSQL: once its connections are closed)."""
        if not self._files:  # no PostgreSQL connection was traced: SQLite
            return Tally(Counter(self._sqlite.get(phase, Counter())))
        total = Tally(round_trips=0)
        for path in sorted(self.trace_dir.glob(f"{phase}.*.trace")):
            verbs, trips = read_trace(path.read_text(errors="replace"))
            total.verbs.update(verbs)
            total.round_trips = (total.round_trips or 0) + trips
        return total


def read_trace(text: str) -> tuple[Counter[str], int]:
    """(statements by verb, round trips) of one connection's libpq trace."""
    verbs: Counter[str] = Counter()
    trips, last = 0, ""
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) < 3 or parts[0] not in ("F", "B"):
            continue
        if parts[0] == "B" and last == "F":
            trips += 1
        last = parts[0]
        if parts[2] == "CommandComplete":
            tag = parts[3].strip().strip('"') if len(parts) > 3 else ""
            verbs[verb_of(tag)] += 1
    return verbs, trips
