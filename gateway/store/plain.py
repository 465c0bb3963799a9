"""The hottest statements, run straight on the database driver.

SQLAlchemy Core spends 20–60 µs of Python on each execute (the cache key, a parameter
dict per row, the result's set-up) around a driver call of a few µs. An order runs about
fifteen writes, on the one thread that writes SQLite, and the profile of the end-to-end
benchmark put a quarter of the gateway's GIL time there. `PlainWrite` compiles a Core
INSERT or UPDATE once per dialect and set of column names, then runs it on the DBAPI
cursor of the connection's open transaction, applying the same parameter conversions
SQLAlchemy would. `PlainRead` does the same for a few hot SELECTs of plain columns (text
and numbers, which the drivers return as Core would) and returns tuples; other reads stay
on Core, whose rows are used by name.

On PostgreSQL a write whose answer nobody reads (`PlainWrite.send`, `run_many`) is not
sent at once: it waits in the connection's queue (`Deferred`) and goes with the next
statement that needs an answer, in one psycopg pipeline (one round trip for all of them),
or with the COMMIT. Every statement run on the connection sends the queue first (the
engine's `do_execute` and `commit` hooks, `ask`, `driver_cursor`), so the order of
statements is the order they were written in; a rollback drops the queue. SQLAlchemy's
own statements go in the pipeline too, which ends before SQLAlchemy reads their results
(inside it they would look empty); an executemany of SQLAlchemy's sends the queue ahead
of it. On SQLite `send` runs at once: there is no round trip to save.
"""

from __future__ import annotations

import select
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Literal

from sqlalchemy import (
    Connection,
    Dialect,
    Engine,
    Float,
    Integer,
    Select,
    String,
    TextClause,
    event,
)
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.sql.dml import UpdateBase

PLAIN_TYPES = (String, Integer, Float)  # columns both drivers return as Core would


@dataclass(frozen=True)
class DriverStatement:
    """One statement's text for one dialect and column set, and how to lay out its values.

    `parameters(values)` gives what the driver's `execute` takes for a dict of values."""

    sql: str
    positions: tuple[str, ...] | None  # parameter names in order (qmark), or None (named)
    convert: Mapping[str, Callable[[Any], Any]]  # SQLAlchemy's bind processors, if any
    fixed: Mapping[str, Any]  # the statement's own literals (`id == 1`), already bound
    _pick: Callable[[Mapping[str, Any]], Any] | None = field(
        default=None, init=False, repr=False, compare=False
    )  # the values in order, in C, when nothing is converted or fixed (qmark)

    def __post_init__(self) -> None:
        if self.positions and not self.convert and not self.fixed:
            object.__setattr__(self, "_pick", _in_order(self.positions))

    def parameters(self, values: Mapping[str, Any]) -> Sequence[Any] | Mapping[str, Any]:
        pick = self._pick
        if pick is not None:  # most writes and reads on SQLite
            return pick(values)  # type: ignore[no-any-return]
        if self.fixed:
            values = {**self.fixed, **values}
        convert = self.convert
        if self.positions is None:
            if not convert:
                return values
            return {k: convert[k](v) if k in convert else v for k, v in values.items()}
        return [convert[k](values[k]) if k in convert else values[k] for k in self.positions]


def _in_order(positions: tuple[str, ...]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """A tuple of the values at `positions`, picked in C (a list comprehension cost three
    times as much, for every row written)."""
    if len(positions) == 1:  # itemgetter of one name gives the value, not a tuple
        (name,) = positions
        return lambda values: (values[name],)
    return itemgetter(*positions)


class _Plain:
    """A statement compiled once per dialect and set of parameter names."""

    def __init__(self, statement: UpdateBase | Select[Any]) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, tuple[str, ...]], DriverStatement] = {}

    def _for(self, dialect: Dialect, keys: tuple[str, ...]) -> DriverStatement:
        found = self._compiled.get((dialect.name, keys))
        if found is None:
            found = compile_plain(self.statement, dialect, keys)
            self._compiled[(dialect.name, keys)] = found
        return found


class PlainWrite(_Plain):
    """An INSERT or UPDATE compiled once, run on the driver with dicts of values.

    Every dict passed in one call has the same keys: the column values, plus the names
    of any `bindparam` in the WHERE clause."""

    def run(self, conn: Connection, values: Mapping[str, Any]) -> int:
        """Execute once now (with what is queued); the number of rows it wrote."""
        compiled = self._for(conn.dialect, tuple(values))
        return ask(conn, compiled.sql, compiled.parameters(values), fetch="none").rowcount

    def send(self, conn: Connection, values: Mapping[str, Any]) -> None:
        """Execute once, queued on PostgreSQL: a write whose answer nobody reads."""
        compiled = self._for(conn.dialect, tuple(values))
        send_later(conn, compiled.sql, compiled.parameters(values))

    def run_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Execute once per row (queued on PostgreSQL, like `send`)."""
        if not rows:
            return
        compiled = self._for(conn.dialect, tuple(rows[0]))
        send_later(conn, compiled.sql, [compiled.parameters(row) for row in rows], many=True)


class PlainRead(_Plain):
    """A SELECT compiled once per dialect, run on the driver; rows come back as tuples.

    `for_update` adds FOR UPDATE (which SQLAlchemy leaves out on SQLite)."""

    def __init__(self, statement: Select[Any], for_update: bool = False) -> None:
        _check_columns(statement)
        super().__init__(statement.with_for_update() if for_update else statement)
        self.select = statement  # without FOR UPDATE: a locking read is made from it

    def first(self, conn: Connection, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row, or None."""
        compiled = self._for(conn.dialect, tuple(values))
        rows = ask(
            conn, compiled.sql, compiled.parameters(values), writes=False, fetch="first"
        ).rows
        return tuple(rows[0]) if rows else None

    def all(self, conn: Connection, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Every row."""
        compiled = self._for(conn.dialect, tuple(values))
        rows = ask(conn, compiled.sql, compiled.parameters(values), writes=False).rows
        return [tuple(row) for row in rows]

    def ahead(self, conn: Connection, values: Mapping[str, Any]) -> Ahead:
        """Every row, read with the next statement sent (`read_ahead`)."""
        compiled = self._for(conn.dialect, tuple(values))
        return read_ahead(conn, compiled.sql, compiled.parameters(values))


def _check_columns(statement: Select[Any]) -> None:
    """Refuse a column whose driver value Core might convert (booleans on SQLite...)."""
    for column in statement.selected_columns:
        kind = column.type
        if not isinstance(kind, PLAIN_TYPES) or getattr(kind, "asdecimal", False):
            raise ValueError(f"cannot read {column} plainly: Core converts {kind!r}")


def compile_plain(
    statement: UpdateBase | Select[Any] | TextClause, dialect: Dialect, keys: tuple[str, ...] = ()
) -> DriverStatement:
    """`statement` as the driver takes it: text, parameter order, conversions, literals."""
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    if compiled.escaped_bind_names:  # a name the driver cannot take as it is
        raise ValueError(
            f"cannot run {statement} plainly: it renames {compiled.escaped_bind_names}"
        )
    positions = tuple(compiled.positiontup) if compiled.positional else None  # type: ignore[arg-type]
    convert = {}
    for name, processor in compiled._bind_processors.items():  # what Core would apply
        if not callable(processor):  # a tuple type's processors, one per element
            raise ValueError(f"cannot run {statement} plainly: {name} is a tuple")
        convert[name] = processor
    fixed = {name: value for name, value in compiled.params.items() if name not in keys}
    return DriverStatement(compiled.string, positions, convert, fixed)


def driver_cursor(conn: Connection) -> Any:
    """A DBAPI cursor in the transaction `conn` has open, once what is queued is sent
    (with the running unit's savepoint: what the cursor runs may write)."""
    flush_before_a_write(conn)
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]


DEFERRED = "lianxin_deferred"  # key of the queue in the DBAPI connection's info
BEGIN = ("BEGIN", None, False)  # queued by the engine's begin hook: see `defer_writes`


@dataclass
class Deferred:
    """Statements queued on one connection, and whether the open transaction's COMMIT
    has been asked for (its outcome is then unknown if the connection is lost: see
    `gateway.store.retry`).

    A unit of work of a group that has a savepoint to undo it (`open_unit`) gets its
    SAVEPOINT statement only when the first of its writes is sent (`unit_written`):
    most units' writes are all still queued when they end, and need none."""

    #: (sql, params, many) of each write, or a read queued ahead
    statements: list[tuple[str, Any, bool] | Ahead] = field(default_factory=list)
    committing: bool = False
    savepoint: str | None = None  # the running unit's savepoint's name
    unit_from: int = 0  # where the running unit's statements start in `statements`
    placed: bool = False  # whether its SAVEPOINT is sent (or in `statements`)
    cursors: dict[str, Any] = field(default_factory=dict)  # kept driver cursors, by role
    alone: bool = False  # the running unit is its transaction's only one (see `ask`)
    ended: bool = False  # the COMMIT went with a statement's answer: nothing more may run

    def open_unit(self, name: str) -> None:
        """A unit of work starts: what it queues from now on is undone by savepoint `name`,
        made before the first of its writes the server is sent."""
        self.savepoint, self.unit_from, self.placed = name, len(self.statements), False

    def close_unit(self) -> bool:
        """The running unit ends; whether its savepoint was made (so is on the server)."""
        placed, self.savepoint, self.placed = self.placed, None, False
        return placed

    def unit_written(self) -> None:
        """A write of the running unit is about to be sent: its SAVEPOINT goes first."""
        if self.savepoint is not None and not self.placed:
            self.statements.insert(self.unit_from, (f"SAVEPOINT {self.savepoint}", None, False))
            self.placed = True

    def cursor(self, driver: Any, role: str) -> Any:
        """The cursor this connection keeps for `role` (the queue's, or the answers'):
        one of its own, so that each holds the result of its own last statement."""
        kept = self.cursors.get(role)
        if kept is None or kept.closed or kept.connection is not driver:
            kept = self.cursors[role] = driver.cursor()
        return kept

    def still_open(self) -> None:
        """Refuse a statement once the COMMIT went with an answer (`ask`'s `ends`): it
        would run outside any transaction."""
        if self.ended:
            raise RuntimeError("a statement after its transaction's COMMIT")

    def unit_queued(self) -> bool:
        """Whether statements of the running unit wait in the queue (writes, a SET LOCAL,
        or a read queued ahead: its answer is read once the queue is sent)."""
        return len(self.statements) > self.unit_from


class Ahead:
    """A read queued to go with the connection's next round trip (`read_ahead`): its rows
    are fetched as that round trip ends (asked for before, it sends the queue then)."""

    def __init__(self, conn: Connection, sql: str, params: Any) -> None:
        self.conn, self.sql, self.params = conn, sql, params
        self.cursor: Any = None  # the cursor it was sent on, until its rows are fetched
        self._rows: list[Any] | None = None

    def rows(self) -> list[Any]:
        """Its rows, sending the queue now if it is still waiting there."""
        if self._rows is None:
            flush_deferred(self.conn)
        if self._rows is None:  # never sent: its unit's savepoint dropped the queue
            self._rows = ask(self.conn, self.sql, self.params, writes=False).rows
        return self._rows

    def fetch(self) -> None:
        """Take its rows from the cursor it went on (its round trip has ended)."""
        cursor, self.cursor = self.cursor, None
        self._rows = cursor.fetchall()


def read_ahead(conn: Connection, sql: str, params: Any) -> Ahead:
    """A read whose rows are needed later in this transaction: on PostgreSQL it waits in
    the queue and goes with the next statement sent (one round trip for both); on SQLite
    it runs now."""
    ahead = Ahead(conn, sql, params)
    queue = deferred(conn)
    if queue is None:
        ahead.rows()
    else:
        queue.still_open()
        queue.statements.append(ahead)
    return ahead


def deferred(conn: Connection) -> Deferred | None:
    """The connection's queue (None on SQLite, which runs every statement at once)."""
    return conn.info.get(DEFERRED)


def send_later(conn: Connection, sql: str, params: Any = None, many: bool = False) -> None:
    """Queue a statement whose answer nobody reads (run it now on SQLite)."""
    queue = deferred(conn)
    if queue is not None:
        queue.still_open()
        queue.statements.append((sql, params, many))
        return
    with closing(conn.connection.driver_connection.cursor()) as cursor:  # type: ignore[union-attr]
        _execute(cursor, sql, params, many)


Fetch = Literal["all", "first", "none"]


@dataclass(frozen=True)
class Answer:
    """What a statement run by `ask` answered: its rows (as fetched) and rowcount."""

    rows: list[Any]
    rowcount: int


def ask(
    conn: Connection,
    sql: str,
    params: Any,
    *,
    writes: bool = True,
    fetch: Fetch = "all",
    ends: bool = False,
) -> Answer:
    """Run a statement whose answer is read, with what is queued: one pipeline, one round
    trip. `fetch`: which rows to read ("all", the "first", or "none"); `writes`: whether the
    statement may write (a read sends no unit's savepoint). `ends`: the unit runs nothing
    after it; if the unit is its transaction's only one (`Deferred.alone`), the COMMIT
    goes in the same pipeline, and the transaction is over when the answer is read.

    On PostgreSQL the statement and the queue each go on a cursor the connection keeps
    (`Deferred.cursor`): making a psycopg cursor cost about 20 µs of CPU, twice per
    round trip."""
    driver = conn.connection.driver_connection
    queue = deferred(conn)
    if queue is None:  # SQLite: a cursor costs next to nothing
        with closing(driver.cursor()) as cursor:  # type: ignore[union-attr]
            _execute(cursor, sql, params, many=False)
            return _answer(cursor, fetch)
    queue.still_open()
    if writes:
        queue.unit_written()
    cursor = queue.cursor(driver, "answer")
    if ends and queue.alone:
        queue.committing = queue.ended = True
        with pipeline_after(queue, driver):
            _execute(cursor, sql, params, many=False)
            _execute(queue.cursor(driver, "queue"), "COMMIT", None, many=False)
    elif queue.statements:
        with pipeline_after(queue, driver):  # the rows arrive as it ends
            _execute(cursor, sql, params, many=False)
    else:
        _execute(cursor, sql, params, many=False)
    return _answer(cursor, fetch)


def _answer(cursor: Any, fetch: Fetch) -> Answer:
    if fetch == "none":
        rows = []
    elif fetch == "first":
        row = cursor.fetchone()
        rows = [] if row is None else [row]
    else:
        rows = cursor.fetchall()
    return Answer(rows, int(cursor.rowcount))


def flush_before_a_write(conn: Connection) -> None:
    """Send what is queued, with the running unit's savepoint: a write follows."""
    queue = deferred(conn)
    if queue is not None:
        queue.unit_written()
    flush_deferred(conn)


def flush_deferred(conn: Connection) -> None:
    """Send what is queued on `conn` now (one round trip); its errors raise here."""
    queue = deferred(conn)
    if queue is not None and queue.statements:
        with pipeline_after(queue, conn.connection.driver_connection):
            pass  # the queue alone: the pipeline sends it as it ends, and reads its results


@contextmanager
def pipeline_after(queue: Deferred, driver: Any) -> Iterator[None]:
    """A psycopg pipeline on `driver` that sends what is queued first, then what the
    block executes: one round trip, as the block ends. The queue goes on a cursor of its
    own, so that the caller's cursor holds the one result of its own statement."""
    with driver.pipeline():
        reads = _send(queue.cursor(driver, "queue"), queue, driver)
        yield
    for read in reads:  # the rows of the reads queued ahead have arrived
        read.fetch()


def _send(cursor: Any, queue: Deferred, driver: Any) -> list[Ahead]:
    """Execute what is queued, each read queued ahead on a cursor of its own; them."""
    if queue.unit_queued():
        queue.unit_written()
    statements, queue.statements = queue.statements, []
    queue.unit_from = 0
    reads: list[Ahead] = []
    for queued in statements:
        if isinstance(queued, Ahead):
            queued.cursor = queue.cursor(driver, f"ahead {len(reads)}")
            _execute(queued.cursor, queued.sql, queued.params, many=False)
            reads.append(queued)
        else:
            _execute(cursor, *queued)
    return reads


def _execute(cursor: Any, sql: str, params: Any, many: bool) -> None:
    if many:
        cursor.executemany(sql, params)
    elif params is None:
        cursor.execute(sql)
    else:
        cursor.execute(sql, params)


def discard_deferred(conn: Connection, keep: int = 0) -> None:
    """Forget what is queued past the first `keep` statements (their work is undone)."""
    queue = deferred(conn)
    if queue is not None:
        del queue.statements[keep:]


def defer_writes(engine: Engine) -> None:
    """Give each of `engine`'s connections a queue, sent before anything else runs on it
    and before each commit, and dropped by a rollback (PostgreSQL's engines).

    The driver runs in autocommit mode and the BEGIN waits in the queue too, so it goes
    with the transaction's first statement (psycopg would otherwise send it alone, one
    round trip per transaction). A connection given an isolation level for one
    transaction (`audit_snapshot`) leaves autocommit mode: psycopg then begins it itself,
    with that level, and the connection is put back in autocommit mode at its next
    checkout (a writer thread's held connection has none: no unit of work there sets an
    isolation level, see `gateway.store.held`). Checking out a connection looks at its
    socket instead of sending a ping (`alive`): a connection whose server closed it is
    replaced before it is used.
    """

    @event.listens_for(engine, "checkout")
    def _check_out(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if not alive(dbapi_connection):
            raise DisconnectionError("the server closed this connection")  # the pool reconnects
        if not dbapi_connection.autocommit:
            dbapi_connection.autocommit = True

    @event.listens_for(engine, "engine_connect")
    def _queue(conn: Connection) -> None:
        conn.info.setdefault(DEFERRED, Deferred())

    @event.listens_for(engine, "begin")
    def _begin_with_the_first_statement(conn: Connection) -> None:
        queue = conn.info.setdefault(DEFERRED, Deferred())
        queue.committing = queue.alone = queue.ended = False
        if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return  # asked for by the caller (VACUUM, CREATE INDEX CONCURRENTLY): no BEGIN
        if conn.connection.driver_connection.autocommit:  # type: ignore[union-attr]
            queue.statements.insert(0, BEGIN)

    @event.listens_for(engine, "before_cursor_execute")
    def _send_first(conn: Connection, *args: Any) -> None:
        if args[-1]:  # an executemany (a write): the queue goes first, on its own
            flush_before_a_write(conn)

    @event.listens_for(engine, "do_execute")
    def _execute_with_queue(cursor: Any, sql: str, params: Any, context: Any) -> bool:
        return execute_with_queue(context.root_connection, cursor, sql, params)

    @event.listens_for(engine, "do_execute_no_params")
    def _execute_alone_with_queue(cursor: Any, sql: str, context: Any) -> bool:
        return execute_with_queue(context.root_connection, cursor, sql, None)

    @event.listens_for(engine, "commit")
    def _send_with_commit(conn: Connection) -> None:
        queue = deferred(conn)
        if queue is None:
            return
        queue.committing = True
        if queue.statements == [BEGIN]:  # nothing ran: there is no transaction to commit
            queue.statements.clear()
        elif queue.statements:
            # the COMMIT goes in the same round trip; the driver's own commit, which
            # SQLAlchemy calls next, then finds no transaction open and sends nothing
            queue.statements.append(("COMMIT", None, False))
            flush_deferred(conn)

    @event.listens_for(engine, "rollback")
    def _drop(conn: Connection) -> None:
        discard_deferred(conn)
        queue = deferred(conn)
        if queue is not None:
            queue.close_unit()

    @event.listens_for(engine, "checkin")
    def _drop_on_return(_dbapi_connection: Any, record: Any) -> None:
        queue = record.info.get(DEFERRED)  # a connection goes back to the pool empty
        if queue is not None:
            queue.statements.clear()
            queue.close_unit()


def execute_with_queue(conn: Connection, cursor: Any, sql: str, params: Any) -> bool:
    """Run one of SQLAlchemy's statements in one pipeline with what is queued on `conn`
    (one round trip); False, doing nothing, when nothing is queued. The pipeline ends
    before SQLAlchemy reads the statement's result, which is then on its cursor."""
    try:
        queue = deferred(conn)
    except NotImplementedError:  # not a stub: SQLAlchemy's dialect set-up connection
        # (on the engine's first connect) raises this for `.info`; nothing is queued on it
        return False
    if queue is None:
        return False
    queue.still_open()
    if sql.lstrip()[:6].upper() != "SELECT":  # it may write: after the unit's savepoint
        queue.unit_written()
    if not queue.statements:
        return False
    with pipeline_after(queue, cursor.connection):
        _execute(cursor, sql, params, many=False)
    return True


LONGEST_CACHED = 64 * 1024  # characters of a statement whose conversion psycopg keeps
MOST_PARAMETERS_CACHED = 512


def cache_long_statements() -> None:
    """Let psycopg keep the conversion of long statements too.

    psycopg turns a statement's `%(name)s` placeholders into `$n` on every execute, and
    keeps the result (in a cache of 128) only for statements of at most 4,096 characters
    and 50 parameters: longer ones are assumed to be an ORM's one-off multi-row INSERTs.
    Ours are a fixed set compiled once, but the claim SELECT (a part per agency and
    state) passes 4,096 characters with three agencies: converting it again on every
    claim took 7 % of the gateway's GIL samples in the PostgreSQL e2e profile. The limits
    are module settings of psycopg's, read on each execute."""
    from psycopg import _queries  # where the limits live (psycopg >= 3.1)

    _queries.MAX_CACHED_STATEMENT_LENGTH = max(_queries.MAX_CACHED_STATEMENT_LENGTH, LONGEST_CACHED)
    _queries.MAX_CACHED_STATEMENT_PARAMS = max(
        _queries.MAX_CACHED_STATEMENT_PARAMS, MOST_PARAMETERS_CACHED
    )


def alive(driver: Any) -> bool:
    """Whether a pooled psycopg connection may still be used, without a round trip.

    An idle connection has nothing to read: the server answered every statement sent.
    If its socket is readable, the server wrote to it unasked, which it does when it
    ends the session (`pg_terminate_backend`, a shutdown, an idle timeout: a FATAL
    message, then the end of the stream). Such a connection is not used: the pool opens
    another. A connection lost without a word (a cable, a firewall), or ended between
    this look and its first statement, still looks alive here: the unit of work that
    uses it fails and runs again (see `gateway.store.retry`)."""
    if driver.closed or driver.broken:
        return False
    idle = select.poll()  # not select.select: it fails on descriptors past 1,023
    idle.register(driver.pgconn.socket, select.POLLIN)
    return not idle.poll(0)  # readable, hung up or in error: the server is done with it
