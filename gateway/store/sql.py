"""The SQL store: one transaction per unit of work, run off the event loop.

SQLite gets one writer thread and `BEGIN IMMEDIATE` (it wants a single writer; two
writers make each other wait), WAL and `synchronous=FULL` so a 202 means the order is on
disk. PostgreSQL gets several writer threads for normal work (`LIANXIN_DB_WRITERS`, 3 by
default), each with its own connection, and one more kept for urgent work (emergency
handoffs), so that never queues behind normal work. Writers overlap: a transaction locks
the rows it reads to write back (orders, cursors), and takes the audit head's lock only
at its end, to link its entries and commit (see `SqlAuditLog`). A transaction PostgreSQL
aborts for a deadlock or a lost race on a unique key is run again (`gateway.store.retry`).
Reads run on their own threads. Claims use `FOR UPDATE SKIP LOCKED`, so several writers
and processes share the outbox. Each unit of work runs in a copy of its caller's context
(log ids, the trace), and each write or read is one span when tracing is on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import AbstractContextManager, closing, contextmanager, nullcontext
from contextvars import Context, copy_context
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy.engine import make_url

from gateway.domain.audit import GENESIS, AuditRecord, ChainRow, StoredEntries
from gateway.service.ports.crypto import PersonalSeal
from gateway.service.ports.store import AuditChain, OrderKey, UnitOfWork
from gateway.service.ports.telemetry import Tracing
from gateway.store.activity import SqlActivity
from gateway.store.audit_log import SqlAuditLog
from gateway.store.db_errors import WriteHealth, from_the_database, translated
from gateway.store.held import HeldConnections
from gateway.store.keys import SqlKeys
from gateway.store.opened_orders import OpenedOrders
from gateway.store.plain import (
    Deferred,
    cache_long_statements,
    defer_writes,
    deferred,
    discard_deferred,
    driver_cursor,
    flush_deferred,
    send_later,
)
from gateway.store.repositories import (
    SqlAgencies,
    SqlCursors,
    SqlHandoffs,
    SqlInbound,
    SqlOrders,
)
from gateway.store.retention import SqlRetention
from gateway.store.retry import (
    ATTEMPTS,
    lost_in_time,
    mark_lost_in_time,
    should_retry,
    wait_before,
)
from gateway.store.schema import audit_head
from gateway.store.security import SqlSecurity
from gateway.store.standings import SqlStandings
from gateway.store.watches import SqlWatches
from gateway.store.writer import Job, More, PriorityWriter

T = TypeVar("T")
log = logging.getLogger("lianxin.store")
POSTGRES_WRITERS = 3  # normal writer threads on PostgreSQL unless LIANXIN_DB_WRITERS says
SLOW_TRANSACTION = 1.0  # seconds; longer ones are logged: they delay everything queued
GROUP_BUDGET = 0.010  # seconds a group commit goes on taking queued jobs for (an urgent
# job that arrives meanwhile joins the group; one queued behind it waits about this long)
GROUP_MAX = 64  # jobs in one group commit at most
READ_SNAPSHOT = "lianxin_read_snapshot"  # execution option: a read-only snapshot transaction


class SqlUnitOfWork:
    """The repositories of one open transaction."""

    def __init__(
        self,
        conn: Connection,
        seal: PersonalSeal,
        chain: AuditChain,
        locking: bool,
        opened: OpenedOrders,
    ) -> None:
        self.conn = conn  # for store adapters outside the UnitOfWork port (checkpoints)
        self.orders = SqlOrders(conn, seal, locking, opened)
        self.handoffs = SqlHandoffs(conn, seal)
        self.handoff_queries = self.handoffs  # one table, two ports
        self.inbound = SqlInbound(conn, seal)
        self.agencies = SqlAgencies(conn)
        self.standings = SqlStandings(conn)
        self.audit = SqlAuditLog(conn, chain)
        self.cursors = SqlCursors(conn, locking)
        self.watches = SqlWatches(conn)
        self.keys = SqlKeys(conn)
        self.retention = SqlRetention(conn, seal, opened)
        self.activity = SqlActivity(conn)
        self.security = SqlSecurity(conn, seal)


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain postgresql:// URLs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def create_store_engine(url: str, *, writers: int = POSTGRES_WRITERS) -> Engine:
    """An engine for `url` with Lianxin's connection settings (on PostgreSQL a connection
    for each writer, the urgent one and a few readers)."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # no pool_pre_ping (a round trip per transaction): `defer_writes` checks a connection's
    # socket at checkout, and a unit of work whose connection is lost before its COMMIT
    # was asked for runs again on a fresh one (`_Transaction`)
    engine = create_engine(url, pool_size=writers + 3, max_overflow=4)
    defer_writes(engine)
    cache_long_statements()
    return engine


def _sqlite_begin(conn: Connection) -> None:
    """Writers take the lock at BEGIN; a read snapshot (audit verify) must not block them.

    Sent on the driver: through `exec_driver_sql`, SQLAlchemy's execution context made
    this statement cost more than most of a unit of work's own (a driver error here is
    the driver's class, which `translated` reads as it reads SQLAlchemy's)."""
    snapshot = conn.get_execution_options().get(READ_SNAPSHOT, False)
    driver: Any = conn.connection.driver_connection  # sqlite3's, open while conn is
    driver.execute("BEGIN" if snapshot else "BEGIN IMMEDIATE")


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # let the "begin" hook issue BEGIN IMMEDIATE
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=30000", "foreign_keys=ON"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


class SqlStore:
    """Runs units of work in threads; SQLite with one writer, PostgreSQL with `writers`
    (None: `POSTGRES_WRITERS`) plus the urgent one.

    The service layer hands it `seal` (seals personal data at rest) and `chain` (links each
    audit entry: its time, masked detail and hash); `gateway.bootstrap.open_sql_store`
    builds both. Without `tracing`, no spans.
    """

    def __init__(
        self,
        url: str,
        *,
        seal: PersonalSeal,
        chain: AuditChain,
        writers: int | None = None,
        group_budget: float = GROUP_BUDGET,
        tracing: Tracing | None = None,
    ) -> None:
        self.group_budget = group_budget
        self.tracing = tracing
        self.write_health = WriteHealth()  # readiness and the alert log read it
        self.seal = seal
        self.chain = chain
        self.opened_orders = OpenedOrders()  # every unit of work's (gateway.store.opened_orders)
        self.url = normalise_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        self.writers = 1 if self.is_sqlite else writers or POSTGRES_WRITERS
        self.engine = create_store_engine(self.url, writers=self.writers)
        self._held = HeldConnections(self.engine)  # the writer threads' (see gateway.store.held)
        self._writer = PriorityWriter(
            "lianxin-db",
            writers=self.writers,
            urgent_lane=not self.is_sqlite,
            runner=self._run_group,
        )

    def _unit_of_work(self, conn: Connection, locking: bool) -> SqlUnitOfWork:
        return SqlUnitOfWork(conn, self.seal, self.chain, locking, self.opened_orders)

    async def write(
        self,
        work: Callable[[UnitOfWork], T],
        urgent: bool = False,
        audited: bool = True,
        looks_up: OrderKey | None = None,
    ) -> T:
        """Run `work` in a transaction and return its result once committed.

        `urgent` work (emergency handoffs) goes ahead of everything queued that is not.
        Work queued together is committed together (see `_run_group`). Work that is not
        `audited` (appends no audit entry: a claim) skips the audit head's lock. The flow
        `work` `looks_up` first is looked up with those of the work queued behind it.
        """
        with self._span("write", work, urgent=urgent), translated(self.write_health):
            # made in the span: the thread's log lines name it
            unit = _Unit(work, audited, looks_up)
            return await self._writer.run(unit, urgent=urgent)

    async def read(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run a read-only `work` (SQLite reads share the writer thread: they are short)."""
        with self._span("read", work), translated():
            if not self.is_sqlite:
                return await asyncio.to_thread(self.run_sync, work, False)
            return await self._writer.run(_Unit(work))

    def _span(self, kind: str, work: Callable[..., Any], urgent: bool = False) -> Any:
        """A span for one unit of work, queueing and (group) commit included."""
        if self.tracing is None:
            return nullcontext()
        attributes = {
            "db.system": "sqlite" if self.is_sqlite else "postgresql",
            "code.function": getattr(work, "__qualname__", "unit of work"),
            "lianxin.urgent": urgent,
        }
        return self.tracing.span(f"database {kind}", attributes, client=True)

    def _run_group(self, first: Job, more: More) -> None:
        """Run `first` and the jobs queued behind it in one transaction (group commit).

        A commit costs an fsync (SQLite) or a round trip and the head lock (PostgreSQL),
        so under load one commit for many units of work is most of the gain. Each job
        after the first runs in a savepoint: one that fails is rolled back alone, and its
        caller gets the error. The first runs bare, since nothing else is in the
        transaction yet. Results reach the callers only once the commit is done; if the
        commit fails, every job in the group gets the error. A job that failed because
        PostgreSQL aborted it (a deadlock, a lost race on a unique key: see
        `gateway.store.retry`) runs again alone instead, and so does every job of a group
        whose transaction was aborted so.

        A group whose first job is not audited runs that job alone (a claim: it locks
        only rows it claims, with SKIP LOCKED, and waits for nothing).
        """
        if not first.future.set_running_or_notify_cancel():
            return
        taken: list[Job] = [first]  # every job taken hears how it ended, whatever happens
        outcomes: list[tuple[Any, Exception | None]] = []
        started = time.perf_counter()
        alone = not self.is_sqlite and not _unit(first).audited
        transaction = _Transaction(self._held.begin())
        try:
            with transaction as conn:
                if alone:  # its last statement may carry the COMMIT (`plain.ask`)
                    transaction.alone()
                uow = self._unit_of_work(conn, locking=not self.is_sqlite)
                outcomes.append((self._run_unit(uow, first), None))
                while not alone and (job := self._next_in_group(more, len(taken), started)):
                    taken.append(job)
                    outcomes.append(self._run_in_savepoint(conn, uow, job, len(taken)))
                uow.audit.flush()
        except BaseException as exc:  # handed to the awaiting callers
            if len(taken) > 1 and transaction.refused(exc):
                # the units' queued writes went together: whose the server refused is not
                # known, and nothing was committed; each runs again alone, where its own
                # error is its own
                for job in taken:
                    self._answer(job)
                return
            for job in taken:
                self._answer(job, after=exc)
            return
        _log_if_slow(_unit(first).work, time.perf_counter() - started, len(taken))
        for job, (result, error) in zip(taken, outcomes, strict=True):
            if error is None:
                job.future.set_result(result)
            else:
                self._answer(job, after=error)

    def _answer(self, job: Job, after: BaseException | None = None) -> None:
        """Run a taken job alone, in a transaction of its own (again after the error of its
        run in a group, if that error allows); its caller hears the outcome."""
        if after is not None and not should_retry(after):
            job.future.set_exception(after)  # raised once, not again for each job of a group
            return
        try:
            result = self._retried(_unit(job), writes=True, after=after, on_writer=True)
        except BaseException as exc:  # handed to the awaiting caller
            job.future.set_exception(exc)
        else:
            job.future.set_result(result)

    def _retried(
        self,
        work: Callable[[UnitOfWork], T],
        writes: bool,
        after: BaseException | None = None,
        on_writer: bool = False,
    ) -> T:
        """`work` in one transaction; run again if PostgreSQL aborts it (see
        `gateway.store.retry`; a read, only if its connection was lost in time), a few
        times at most. `after`: the error of a run already made, which counts as the first.
        `on_writer`: on a writer thread, whose connection is held across transactions."""
        may_retry = should_retry if writes else lost_in_time
        error, run = after, 1 if after is None else 2
        while True:
            if error is not None:
                if run > ATTEMPTS or not may_retry(error):
                    raise error
                log.info(
                    "running %s again (run %d) after %s", _name(work), run, type(error).__name__
                )
                time.sleep(wait_before(run))
            try:
                return self._transaction(work, writes, on_writer)
            except Exception as exc:
                error, run = exc, run + 1

    def _next_in_group(self, more: More, count: int, started: float) -> Job | None:
        while count < GROUP_MAX and time.perf_counter() - started < self.group_budget:
            job = more()
            if job is None or job.future.set_running_or_notify_cancel():
                return job
        return None

    def _run_unit(self, uow: SqlUnitOfWork, job: Job) -> Any:
        """Run a job's unit of work in the group's transaction. One that looks an order up
        by its flow first has that flow looked up with those of the units queued behind
        it, unless an earlier unit's look-up ahead took it in. Alone in the queue it is
        looked up by its own `find` (ahead, it would cost a second read if it is there)."""
        unit = _unit(job)
        key = unit.looks_up
        if key is not None and not uow.orders.looked_ahead(key):
            queued = [_looks_up(work) for work in self._writer.queued(GROUP_MAX)]
            others = [other for other in queued if other is not None and other != key]
            if others:
                uow.orders.find_ahead([key, *others])
        with uow.orders.declared(key):
            return unit(uow)

    def _run_in_savepoint(
        self, conn: Connection, uow: SqlUnitOfWork, job: Job, n: int
    ) -> tuple[Any, Exception | None]:
        """The `n`th unit of a group, in a savepoint of its own name."""
        uow.orders.drop_read_ahead()  # the unit before read them: they are not this one's
        uow.standings.drop_read_ahead()
        mark = uow.audit.checkpoint()
        try:
            return in_savepoint(conn, lambda: self._run_unit(uow, job), f"lianxin_unit_{n}"), None
        except Exception as exc:
            if deferred(conn) is not None and from_the_database(exc):
                raise  # the whole group runs again, each unit alone (see `_run_group`)
            uow.audit.restore(mark)
            return None, exc

    def run_sync(self, work: Callable[[UnitOfWork], T], writes: bool = True) -> T:
        """Run `work` in one transaction on the calling thread, in a copy of the caller's
        context (as the writer thread does): ids it binds for log lines stay in the unit.

        A writing transaction locks the rows it reads to write back, and the audit head
        last (see `SqlAuditLog`); if PostgreSQL aborts it (see `gateway.store.retry`), it
        runs again, a few times at most.
        """
        return self._retried(_Unit(work), writes)  # in a copy of this context

    def _transaction(self, work: Callable[[UnitOfWork], T], writes: bool, on_writer: bool) -> T:
        """`work` in one transaction, its audit entries linked and the head moved last."""
        started = time.perf_counter()
        begin = self._held.begin() if on_writer else self.engine.begin()
        with _Transaction(begin) as conn:
            uow = self._unit_of_work(conn, locking=writes and not self.is_sqlite)
            result = work(uow)
            uow.audit.flush()
        _log_if_slow(work, time.perf_counter() - started, 1)
        return result

    @contextmanager
    def audit_snapshot(
        self, batch: int = 5000
    ) -> Iterator[tuple[tuple[int, str], Iterable[AuditRecord]]]:
        """The head and every entry, read in one snapshot while writers go on.

        Read in two transactions, a live chain looks broken: entries committed after the
        head was read (or before, the other way round) do not match it. REPEATABLE READ on
        PostgreSQL and one deferred transaction on SQLite (WAL) see one committed state.
        """
        options: dict[str, Any] = {READ_SNAPSHOT: True}  # entries stream: see _chain_rows
        if not self.is_sqlite:
            options["isolation_level"] = "REPEATABLE READ"
        with self.engine.connect().execution_options(**options) as conn, conn.begin():
            row = conn.execute(select(audit_head.c.seq, audit_head.c.hash)).first()
            head = (row[0], row[1]) if row else (0, GENESIS)
            with closing(_chain_rows(conn, batch)) as rows:  # its cursor ends before the commit
                yield head, StoredEntries(rows)

    def audit_records(self, batch: int = 5000) -> Iterator[AuditRecord]:
        """Every audit entry in sequence order, streamed."""
        with self.engine.connect() as conn, conn.begin(), closing(_chain_rows(conn, batch)) as rows:
            yield from StoredEntries(rows)

    def schema_lag(self) -> str | None:
        """Why the database's schema is not the one this code expects; None when it is."""
        from gateway.store.migrate import schema_lag  # migrate imports this module

        return schema_lag(self.engine)

    def audit_head(self) -> tuple[int, str]:
        """The last sequence number and hash the chain's head row holds."""
        with self.engine.connect() as conn:
            row = conn.execute(select(audit_head.c.seq, audit_head.c.hash)).first()
        return (row[0], row[1]) if row else (0, GENESIS)

    async def settle(self) -> None:
        """Until every unit of work queued so far has committed or failed, including those
        whose caller was cancelled while they ran (its transaction goes on regardless)."""
        await asyncio.to_thread(self._writer.wait_idle)

    async def aclose(self) -> None:
        """Finish running work and release connections."""
        await asyncio.to_thread(self._writer.shutdown)
        self._held.close()  # the writer threads have ended: nobody uses them now
        self.engine.dispose()


#: every audit entry as plain DBAPI tuples, in AuditRecord's field order
CHAIN_ROWS = (
    "SELECT seq, at_us, event, order_id, handoff_id, party, payload_digest, signature,"
    " detail, prev_hash, entry_hash FROM audit_log ORDER BY seq"
)


def _chain_rows(conn: Connection, batch: int) -> Generator[ChainRow, None, None]:
    """The audit entries straight from the driver, in the transaction `conn` is in.

    SQLAlchemy's Row objects cost a tenth of a verification. On PostgreSQL a named
    (server-side) cursor, so a long trail streams instead of filling memory.
    """
    flush_deferred(conn)  # the queued BEGIN: a named cursor lives in a transaction
    driver = conn.connection.driver_connection
    named = {"name": "lianxin_chain_rows"} if conn.dialect.name == "postgresql" else {}
    cursor = driver.cursor(**named)  # type: ignore[union-attr]
    try:
        cursor.execute(CHAIN_ROWS)
        while rows := cursor.fetchmany(batch):
            yield from rows
    finally:
        cursor.close()


def in_savepoint(conn: Connection, work: Callable[[], T], name: str) -> T:
    """`work()` inside a savepoint of the open transaction: undone alone if it raises.

    Plain driver statements: SQLAlchemy's nested-transaction objects cost about 40 µs a
    unit of work, these about 1 µs, and a group commit runs one per unit.

    On PostgreSQL the unit's writes wait in the queue (see `gateway.store.plain`) and go
    with the next statement that needs an answer, whoever's; the SAVEPOINT is made only
    when the first of them is sent (`Deferred.unit_written`), so a unit whose writes are
    all still queued when it ends (an intake) has none. A database error there may be an
    earlier unit's, so it is not undone here but given up with the whole transaction
    (`SqlStore._run_group` runs each unit again alone). What `work` raises itself undoes
    its own writes only: with no savepoint made, none reached the server, and those
    queued are dropped; else the savepoint is rolled back. Each unit of a group names its
    own savepoint: after a pipeline in which an earlier unit's write was refused (and so
    this unit's SAVEPOINT never ran), its ROLLBACK TO fails, a database error, instead of
    going back to an earlier unit's savepoint and undoing units already counted as done."""
    queue = deferred(conn)
    if queue is None:  # SQLite: every statement runs at once
        return _in_sqlite_savepoint(conn, work, name)
    queue.open_unit(name)
    try:
        result = work()
    except BaseException as exc:
        made = queue.close_unit()
        if from_the_database(exc):
            raise  # the transaction is aborted: nothing to roll back to
        if not made:
            discard_deferred(conn, keep=queue.unit_from)  # nothing of it reached the server
            raise
        discard_deferred(conn)
        _roll_back_to(conn, name)
        raise
    if queue.close_unit():
        send_later(conn, f"RELEASE SAVEPOINT {name}")
    return result


def _in_sqlite_savepoint(conn: Connection, work: Callable[[], T], name: str) -> T:
    send_later(conn, f"SAVEPOINT {name}")  # run at once
    try:
        result = work()
    except BaseException:
        _roll_back_to(conn, name)
        raise
    send_later(conn, f"RELEASE SAVEPOINT {name}")
    return result


def _roll_back_to(conn: Connection, name: str) -> None:
    with closing(driver_cursor(conn)) as cursor:
        cursor.execute(f"ROLLBACK TO SAVEPOINT {name}")
        cursor.execute(f"RELEASE SAVEPOINT {name}")


class _Transaction:
    """`begin` (`engine.begin()`, or a writer's held connection's), which marks an error
    as lost in time (`gateway.store.retry`) when the connection was lost before this
    transaction's COMMIT was asked for: nothing of it can have been committed, so it may
    run again on a fresh connection. Lost during or after the COMMIT, its outcome is
    unknown and the error is left as it is."""

    def __init__(self, begin: AbstractContextManager[Connection]) -> None:
        self._begin = begin
        self._queue: Deferred | None = None  # PostgreSQL's: knows whether COMMIT was asked
        self._driver: Any = None

    def __enter__(self) -> Connection:
        conn = self._begin.__enter__()
        self._queue = deferred(conn)
        self._driver = conn.connection.driver_connection
        return conn

    def __exit__(self, kind: Any, exc: BaseException | None, traceback: Any) -> bool | None:
        try:
            return self._begin.__exit__(kind, exc, traceback)
        except BaseException as error:  # the one raised in the block, or the commit's
            self._judge(error)
            raise

    def alone(self) -> None:
        """Its one unit of work may end it: the COMMIT may go with the unit's last
        statement (PostgreSQL)."""
        if self._queue is not None:
            self._queue.alone = True

    def refused(self, error: BaseException) -> bool:
        """Whether `error` is PostgreSQL refusing a statement of this transaction, over a
        connection still open: a refused statement aborts the transaction, whose COMMIT
        (if it was sent behind it) then commits nothing. A connection lost is not this:
        see `_judge`."""
        driver = self._driver
        return (
            self._queue is not None
            and driver is not None
            and not (driver.closed or driver.broken)
            and from_the_database(error)
        )

    def _judge(self, error: BaseException) -> None:
        queue, driver = self._queue, self._driver
        if queue is not None and not queue.committing and (driver.closed or driver.broken):
            mark_lost_in_time(error)


@dataclass(frozen=True)
class _Unit(Generic[T]):
    """A unit of work as queued for the writer thread, and whether it may append audit
    entries (a claim does not: on PostgreSQL it then skips the audit head's lock)."""

    work: Callable[[UnitOfWork], T]
    audited: bool = True
    looks_up: OrderKey | None = None  # the flow whose order `work` finds first, if any
    context: Context = field(default_factory=copy_context)  # the caller's: log ids, trace

    def __call__(self, uow: UnitOfWork) -> T:
        return self.context.run(self.work, uow)


def _unit(job: Job) -> _Unit[Any]:
    """The unit of work a writer job carries (the store queues nothing else)."""
    assert isinstance(job.work, _Unit), job.work
    return job.work


def _looks_up(work: Callable[..., Any]) -> OrderKey | None:
    """The flow a queued job's unit of work said it looks up, if any."""
    return work.looks_up if isinstance(work, _Unit) else None


def _name(work: Callable[..., Any]) -> str:
    work = work.work if isinstance(work, _Unit) else work
    return getattr(work, "__qualname__", "a unit of work")


def _log_if_slow(work: Callable[..., Any], took: float, jobs: int) -> None:
    if took > SLOW_TRANSACTION:
        log.warning(
            "slow transaction: %s (with %d jobs) took %.2f s (lock waits included)",
            _name(work),
            jobs,
            took,
        )
