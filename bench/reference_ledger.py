"""The reference pipeline's database: three tables and one group-committing writer thread.

Per accepted order, one transaction holds the order row, one outbox row and one audit row
whose hash is sha256(previous hash + canonical entry); a delivery marks its outbox row
`delivered`. Every job waiting when the writer is free goes into one transaction (group
commit), as Lianxin's SQL store does. SQLite: WAL, `synchronous=FULL`, `BEGIN IMMEDIATE`,
one writer thread, Lianxin's settings. PostgreSQL: psycopg 3, default (durable) commits.
"""

from __future__ import annotations

import hashlib
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import psycopg

from gateway.service.json_codec import reference_canonical_json as canonical

GENESIS = "0" * 64
BATCH_MAX = 256  # jobs in one transaction at most
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS ref_orders (flow_id TEXT PRIMARY KEY, body TEXT NOT NULL,"
    " received_at DOUBLE PRECISION NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ref_outbox (id TEXT PRIMARY KEY, flow_id TEXT NOT NULL,"
    " state TEXT NOT NULL, delivered_at DOUBLE PRECISION)",
    "CREATE TABLE IF NOT EXISTS ref_audit (seq INTEGER PRIMARY KEY, entry TEXT NOT NULL,"
    " hash TEXT NOT NULL)",
)
INSERT_ORDER = "INSERT INTO ref_orders (flow_id, body, received_at) VALUES (?, ?, ?)"
INSERT_OUTBOX = "INSERT INTO ref_outbox (id, flow_id, state) VALUES (?, ?, 'pending')"
INSERT_AUDIT = "INSERT INTO ref_audit (seq, entry, hash) VALUES (?, ?, ?)"
MARK_DELIVERED = "UPDATE ref_outbox SET state = 'delivered', delivered_at = ? WHERE id = ?"
LAST_AUDIT = "SELECT seq, hash FROM ref_audit ORDER BY seq DESC LIMIT 1"


def link(prev_hash: str, entry: str) -> str:
    """The audit chain's hash of `entry` after the entry whose hash is `prev_hash`."""
    return hashlib.sha256((prev_hash + entry).encode()).hexdigest()


def chain_breaks(rows: Iterable[tuple[int, str, str]]) -> list[int]:
    """The seq of every audit row (seq, entry, hash), in seq order, whose hash does not link."""
    prev, broken = GENESIS, []
    for seq, entry, stored in rows:
        if link(prev, entry) != stored:
            broken.append(seq)
        prev = stored
    return broken


@dataclass(frozen=True)
class Intake:
    """An order to record: its flow id, canonical body and outbox message id."""

    flow_id: str
    body: str
    message_id: str


@dataclass(frozen=True)
class Delivered:
    """An outbox message the agency acknowledged."""

    message_id: str


Job = tuple[Intake | Delivered, Future[None]]


class Database:
    """One connection, SQLite or PostgreSQL, with the statements written for SQLite's `?`."""

    def __init__(self, url: str) -> None:
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.conn: Any = sqlite3.connect(
                url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False
            )
            for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=30000"):
                self.conn.execute(f"PRAGMA {pragma}")
        else:
            self.conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))

    def sql(self, statement: str) -> str:
        """The statement in the driver's parameter style."""
        return statement if self.is_sqlite else statement.replace("?", "%s")

    def transaction(self, work: Callable[[Any], None]) -> None:
        """Run `work(cursor)` in one transaction and commit (durably) or roll back."""
        cursor = self.conn.cursor()
        try:
            if self.is_sqlite:
                cursor.execute("BEGIN IMMEDIATE")
            work(cursor)
            self.conn.commit()  # sqlite3 commits what BEGIN IMMEDIATE opened, too
        except BaseException:
            self.conn.rollback()
            raise
        finally:
            cursor.close()

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


class Ledger:
    """The writer thread: takes queued jobs in groups and commits each group once."""

    def __init__(self, url: str) -> None:
        self.db = Database(url)
        self.db.transaction(self._create)
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="reference-writer", daemon=True)
        self._thread.start()

    def _create(self, cursor: Any) -> None:
        for statement in SCHEMA:
            cursor.execute(statement)
        cursor.execute(LAST_AUDIT)
        last = cursor.fetchone()
        self.seq, self.head = (int(last[0]), str(last[1])) if last else (0, GENESIS)

    def submit(self, job: Intake | Delivered) -> Future[None]:
        """Queue `job`; its future is done once the transaction holding it has committed."""
        done: Future[None] = Future()
        self._jobs.put((job, done))
        return done

    def close(self) -> None:
        """Finish the queued jobs, stop the thread, close the connection."""
        self._jobs.put(None)
        self._thread.join()
        self.db.close()

    def _run(self) -> None:
        while (first := self._jobs.get()) is not None:
            group, stop = [first], False
            while len(group) < BATCH_MAX and not self._jobs.empty():
                if (more := self._jobs.get()) is None:
                    stop = True
                    break
                group.append(more)
            self._commit(group)
            if stop:
                return

    def _commit(self, group: Sequence[Job]) -> None:
        """One transaction for the group; if it fails, each job alone (only the bad one fails)."""
        seq, head = self.seq, self.head
        try:
            self.db.transaction(lambda cursor: self._write(cursor, [job for job, _ in group]))
        except Exception as exc:
            self.seq, self.head = seq, head
            if len(group) == 1:
                group[0][1].set_exception(exc)
                return
            for one in group:
                self._commit([one])
            return
        for _, done in group:
            done.set_result(None)

    def _write(self, cursor: Any, jobs: Sequence[Intake | Delivered]) -> None:
        now, sql = time.time(), self.db.sql
        intakes = [job for job in jobs if isinstance(job, Intake)]
        delivered = [(now, job.message_id) for job in jobs if isinstance(job, Delivered)]
        if intakes:
            cursor.executemany(sql(INSERT_ORDER), [(i.flow_id, i.body, now) for i in intakes])
            cursor.executemany(sql(INSERT_OUTBOX), [(i.message_id, i.flow_id) for i in intakes])
            cursor.executemany(sql(INSERT_AUDIT), [self._audit(i, now) for i in intakes])
        if delivered:
            cursor.executemany(sql(MARK_DELIVERED), delivered)

    def _audit(self, intake: Intake, now: float) -> tuple[int, str, str]:
        """The next audit row (seq, entry, hash) for an accepted order; moves the head."""
        self.seq += 1
        entry = canonical(
            {
                "seq": self.seq,
                "at": now,
                "kind": "order.received",
                "flow_id": intake.flow_id,
                "message_id": intake.message_id,
                "body_sha256": hashlib.sha256(intake.body.encode()).hexdigest(),
            }
        )
        self.head = link(self.head, entry)
        return self.seq, entry, self.head
