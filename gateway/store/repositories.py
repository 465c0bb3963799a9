"""SQL implementations of the service ports, all working on one open connection."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from sqlalchemy import (
    ColumnElement,
    Connection,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from gateway.domain.messages import Handoff, HandoffKind, HandoffState, Lane, Receipt
from gateway.domain.workorder import WorkOrder
from gateway.service.ports.crypto import PersonalSeal, Seals
from gateway.service.ports.queries import (
    DeadLetter,
    DeadLetterFilter,
    FailedDelivery,
    FailureQuery,
    HandoffView,
)
from gateway.service.ports.store import AgencyState, Delivered, OrderKey, StoredOrder
from gateway.store import claims, fence
from gateway.store import failures as failed_handoffs
from gateway.store.documents import document_text, read_document
from gateway.store.opened_orders import Opened, OpenedOrders
from gateway.store.plain import Ahead, PlainRead, PlainWrite, ask, read_ahead
from gateway.store.schema import (
    agency_state,
    handoffs,
    inbound_messages,
    poll_cursors,
    work_orders,
)

ACTIVE = (HandoffState.pending.value, HandoffState.in_flight.value)
_W3C = TraceContextTextMapPropagator()


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span (a handoff without one continues it)."""
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    return carrier.get("traceparent")


class SqlOrders:
    """Work orders, stored as their JSON document (personal fields sealed) plus columns.

    A write re-seals only what changed: a personal caller field read in this unit of work
    keeps its stored seal while its value is the same and the current key made it (the
    seal is of exactly that value for that order and field, whatever happened since it was
    read), so a status change costs no encryption.

    In a writing unit of work on PostgreSQL an order is read with its row's lock (`FOR
    UPDATE`): several writers run side by side, and two that read one order and both
    write it back would otherwise lose one's change. The second now waits for the first
    to commit and reads what it wrote. (SQLite has one writer: nothing to lock.)

    A group commit looks up the flows its queued intakes will `find` together
    (`find_ahead`): one statement for them all instead of one each (a round trip each on
    PostgreSQL). Only the flows it does not find are kept, as absent, for the rest of the
    transaction, and only the unit that declared a flow (`declared`) is answered from
    them: no other write of this transaction can make one appear but `add`, which strikes
    its own off, and a flow found is read again, locked, by its own `find`. An order of
    that flow committed by another transaction after the look-up (PostgreSQL: another
    process or writer thread) meets the unique key at the intake's `add`: the group is
    refused and runs again, each unit alone, where the intake finds it."""

    def __init__(
        self,
        conn: Connection,
        seal: PersonalSeal,
        locking: bool,
        opened: OpenedOrders,
    ) -> None:
        self.conn = conn
        self.seal = seal
        self.opened = opened  # the store's, shared by every unit of work
        self._seals: dict[str, Seals] = {}  # order id → field → (value, its stored seal)
        self._read_ahead: dict[str, tuple[Any, ...]] = {}  # order id → its row, not yet got
        self._reads_ahead: list[Ahead] = []  # reads of orders queued, rows not yet taken
        self._asked: set[str] = set()  # the orders those read
        self._locking = locking
        self._looked_ahead: set[OrderKey] = set()  # flows `find_ahead` looked up
        self._absent: set[OrderKey] = set()  # of those, the ones not found, none added since
        self._declared: OrderKey | None = None  # the flow the running unit said it looks up
        self._find, self._get = (
            (_FIND_ORDER_LOCKED, _GET_ORDER_LOCKED) if locking else (_FIND_ORDER, _GET_ORDER)
        )

    def find(self, origin: str, flow_id: str) -> StoredOrder | None:
        key = (origin, flow_id)
        if key == self._declared and key in self._absent:
            return None
        return self._stored(self._find.first(self.conn, {"origin": origin, "flow_id": flow_id}))

    def looked_ahead(self, key: OrderKey) -> bool:
        """Whether `find_ahead` looked up this flow in this transaction."""
        return key in self._looked_ahead

    @contextmanager
    def declared(self, key: OrderKey | None) -> Iterator[None]:
        """While a unit that said it looks up `key` runs: its `find` of that flow may be
        answered by `find_ahead`. Any other `find` reads: the flows looked up ahead for
        jobs that then ran elsewhere (another writer thread) or not at all may have had
        an order committed since."""
        self._declared = key
        try:
            yield
        finally:
            self._declared = None

    def find_ahead(self, keys: Iterable[OrderKey]) -> None:
        """Look up these flows (those not looked up yet) in one statement per origin; their
        `find` answers None without a statement of its own while none is `add`ed."""
        wanted: dict[str, list[str]] = {}
        for origin, flow_id in dict.fromkeys(keys):
            if (origin, flow_id) not in self._looked_ahead:
                wanted.setdefault(origin, []).append(flow_id)
        for origin, flow_ids in wanted.items():
            found = present_flows(self.conn, origin, flow_ids)
            self._looked_ahead.update((origin, flow_id) for flow_id in flow_ids)
            self._absent.update((origin, flow_id) for flow_id in flow_ids if flow_id not in found)

    def get(self, order_id: str) -> StoredOrder | None:
        if order_id in self._asked:
            self._take_reads_ahead()
        row = self._read_ahead.pop(order_id, None)
        if row is None:
            row = self._get.first(self.conn, {"b_id": order_id})
        return self._stored(row)

    def read_ahead(self, order_ids: Iterable[str]) -> None:
        wanted = sorted(set(order_ids) - self._read_ahead.keys() - self._asked)
        if wanted:  # sorted: writers that lock several orders lock them in one order
            self._reads_ahead.append(read_orders_ahead(self.conn, wanted, self._locking))
            self._asked.update(wanted)

    def _take_reads_ahead(self) -> None:
        """The rows of the reads ahead, kept for `get` (sending them now if they wait)."""
        reads, self._reads_ahead, self._asked = self._reads_ahead, [], set()
        for read in reads:
            self._read_ahead.update((row[0], tuple(row)) for row in read.rows())

    def add(self, order: WorkOrder, now: float, document: dict[str, Any] | None = None) -> None:
        self._absent.discard((order.origin, order.flow_id))  # present from here on
        values = {
            **self._columns(order, {}, document),
            "origin": order.origin,
            "flow_id": order.flow_id,
            "id": order.id,
            "last_update_at": 0.0,
            "created_at": now,
        }
        _ADD_ORDER.send(self.conn, values)

    def replace(self, order: WorkOrder) -> None:
        if order.id in self._asked:
            self._take_reads_ahead()
        self._read_ahead.pop(order.id, None)  # read before this write: stale now
        columns = self._columns(order, self._seals.get(order.id, {}))
        _UPDATE_ORDER.send(self.conn, {**columns, "b_id": order.id})

    def _columns(
        self, order: WorkOrder, kept: Seals, dumped: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The columns of `order`, its personal fields sealed (the `kept` seals of the
        fields whose value did not change reused); `dumped` is its JSON dump if the caller
        made it (left as it was: the caller reads it on). Its dump is kept opened."""
        plain = order.model_dump(mode="json") if dumped is None else dumped
        sealed = self.seal.seal_document(dict(plain), kept)
        text = document_text(sealed)
        self.opened.keep(order.id, Opened(text, sealed, plain))
        return {
            "revision": order.revision,
            "status": order.status.value,
            "lead_agency": order.lead_agency,
            "document": text,
        }

    def _stored(self, row: tuple[Any, ...] | None) -> StoredOrder | None:
        """The order from a row of `_STORED` columns (the kept one if the row holds the
        text kept for it); the seals a write may keep in `_seals`."""
        if row is None:
            return None
        order_id, text, last_update_at, created_at = row
        opened = self._opened(order_id, text)
        order = opened.order
        assert order is not None  # `_opened` validates
        self._seals[order.id] = self.seal.kept_seals(opened.sealed, opened.plain)
        return StoredOrder(order=order, last_update_at=last_update_at, created_at=created_at)

    def _opened(self, order_id: str, text: str) -> Opened:
        kept = self.opened.holding(order_id, text)
        if kept is None:
            sealed = read_document(text)
            kept = Opened(text, sealed, self.seal.open_document(sealed))
        elif kept.order is not None:
            return kept
        validated = kept.validated()
        self.opened.keep(order_id, validated)
        return validated

    def drop_read_ahead(self) -> None:
        """Forget the rows read ahead and not got: a unit of work ends (its locks may be
        gone with its savepoint, and the next unit reads for itself)."""
        self._read_ahead.clear()
        self._reads_ahead, self._asked = [], set()


# Statements built once and run with parameters: building one per call (`.values(...)`)
# cost more Python than running it. An UPDATE run with a dict sets the columns it names.
# The writes run on the driver (see `gateway.store.plain`).
_STORED = (
    work_orders.c.id,
    work_orders.c.document,
    work_orders.c.last_update_at,
    work_orders.c.created_at,
)
_FIND_ORDER = PlainRead(
    select(*_STORED).where(
        work_orders.c.origin == bindparam("origin"),
        work_orders.c.flow_id == bindparam("flow_id"),
    )
)
_GET_ORDER = PlainRead(select(*_STORED).where(work_orders.c.id == bindparam("b_id")))
_FIND_ORDER_LOCKED = PlainRead(_FIND_ORDER.select, for_update=True)
_GET_ORDER_LOCKED = PlainRead(_GET_ORDER.select, for_update=True)
_ADD_ORDER = PlainWrite(insert(work_orders))
_COLUMNS_TEXT = ", ".join(column.name for column in _STORED)
#: many orders by id in one SELECT; the ids as one parameter, so one text for any number
_READ_MANY = {
    "postgresql": f"SELECT {_COLUMNS_TEXT} FROM work_orders WHERE id = ANY(%s) ORDER BY id",
    "sqlite": f"SELECT {_COLUMNS_TEXT} FROM work_orders"
    " WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
}


def _as_one_parameter(conn: Connection, values: list[str]) -> tuple[str, Any]:
    """The dialect's name and `values` as one parameter: an array for PostgreSQL's
    `= ANY(%s)`, JSON text for SQLite's `IN (SELECT value FROM json_each(?))`."""
    if conn.dialect.name == "postgresql":
        return "postgresql", values
    return "sqlite", json.dumps(values)


def read_orders_ahead(conn: Connection, order_ids: list[str], locking: bool) -> Ahead:
    """The `_STORED` rows of these orders, in id order (locked: FOR UPDATE, PostgreSQL),
    read with the next statement sent (`plain.read_ahead`; at once on SQLite)."""
    dialect, ids = _as_one_parameter(conn, order_ids)
    sql = _READ_MANY[dialect]
    if locking and dialect == "postgresql":
        sql += " FOR UPDATE"
    return read_ahead(conn, sql, (ids,))


#: which of these flows of one origin have an order; the flow ids as one parameter
_PRESENT_FLOWS = {
    "postgresql": "SELECT flow_id FROM work_orders WHERE origin = %s AND flow_id = ANY(%s)",
    "sqlite": "SELECT flow_id FROM work_orders"
    " WHERE origin = ? AND flow_id IN (SELECT value FROM json_each(?))",
}


def present_flows(conn: Connection, origin: str, flow_ids: list[str]) -> set[str]:
    """Which of `flow_ids` (of `origin`) have an order (nothing locked)."""
    dialect, ids = _as_one_parameter(conn, flow_ids)
    return {row[0] for row in ask(conn, _PRESENT_FLOWS[dialect], (origin, ids), writes=False).rows}


_UPDATE_ORDER = PlainWrite(update(work_orders).where(work_orders.c.id == bindparam("b_id")))


class SqlHandoffs:
    """The outbox: handoffs written with their order, claimed by workers with a lease.

    Bodies are stored sealed (`PersonalSeal.seal_body`) and opened when read: digests and signatures
    are over the plain body, which is what is sent."""

    def __init__(self, conn: Connection, seal: PersonalSeal) -> None:
        self.conn = conn
        self.seal = seal
        self.queued_lanes: list[Lane] = []

    def add(self, handoff: Handoff) -> None:
        self.queued_lanes.append(handoff.lane)
        values = {
            "id": handoff.id,
            "order_id": handoff.order_id,
            "agency": handoff.agency,
            "kind": handoff.kind.value,
            "lane": handoff.lane.value,
            "body": self.seal.seal_body(handoff.id, handoff.body),
            "body_digest": handoff.body_digest,
            "state": handoff.state.value,
            "attempts": handoff.attempts,
            "next_attempt_at": handoff.next_attempt_at,
            "created_at": handoff.created_at,
            "traceparent": handoff.traceparent or current_traceparent(),
        }
        _ADD_HANDOFF.send(self.conn, values)

    def claim(
        self,
        now: float,
        quotas: Mapping[str, int],
        lane: Lane,
        lease_until: float,
        owner: str,
        limit: int | None = None,
    ) -> list[Handoff]:
        """Lease due handoffs, at most `quotas[agency]` per agency and `limit` in all, each
        the oldest open one of its order and agency.

        One SELECT (see `gateway.store.claims`) made of one index range scan per agency
        rather than one scan over the lane: under a backlog for one agency, a scan that
        skips it would read the whole backlog to find nothing (seconds per claim on
        PostgreSQL with 100,000 rows). Then one UPDATE leases what it returned; on
        PostgreSQL the SELECT is the UPDATE's (`claims.leased`): one statement, and with
        its COMMIT one round trip when the claim is its transaction's only unit of work.
        """
        lease = {"state": HandoffState.in_flight.value, "lease_until": lease_until}
        if self.conn.dialect.name == "postgresql":
            leased = claims.leased(
                self.conn, now, quotas, lane, {**lease, "lease_owner": owner}, limit
            )
            return [
                _handoff(row, self.seal, attempts=row.attempts + 1, claim=row.claim)
                for row in leased
            ]
        rows = claims.claimable(self.conn, now, quotas, lane, limit)
        if not rows:
            return []
        tokens = [fence.new_claim() for _ in rows]
        _LEASE.run_many(
            self.conn,
            [
                {**lease, "lease_owner": owner, "claim": token, "b_id": row.id}
                for row, token in zip(rows, tokens, strict=True)
            ],
        )
        return [
            _handoff(row, self.seal, attempts=row.attempts + 1, claim=token)
            for row, token in zip(rows, tokens, strict=True)
        ]

    def delivered(self, handoff_id: str, claim: str | None, now: float, receipt: Receipt) -> bool:
        """Record a receipt if `claim` still holds the handoff (see `fence`); whether it did."""
        return bool(self.delivered_all([Delivered(handoff_id, claim, now, receipt)]))

    def delivered_all(self, receipts: Sequence[Delivered]) -> set[tuple[str, str]]:
        return fence.record_delivered(self.conn, receipts)

    def reschedule(
        self, handoff_id: str, claim: str | None, at: float, error: str, status: int | None
    ) -> bool:
        """Set a failed attempt's handoff back to pending, due `at`, if `claim` holds it."""
        return fence.record(
            self.conn,
            handoff_id,
            claim,
            state=HandoffState.pending.value,
            next_attempt_at=at,
            last_error=error,
            last_status=status,
            lease_until=None,
        )

    def dead(self, handoff_id: str, claim: str | None, error: str, status: int | None) -> bool:
        """Dead-letter a failed attempt's handoff if `claim` still holds it."""
        return fence.record(
            self.conn,
            handoff_id,
            claim,
            state=HandoffState.dead.value,
            last_error=error,
            last_status=status,
            lease_until=None,
        )

    def cancel_pending(self, order_id: str, agency: str, why: str) -> int:
        query = (
            update(handoffs)
            .where(
                handoffs.c.order_id == order_id,
                handoffs.c.agency == agency,
                handoffs.c.state == HandoffState.pending.value,
            )
            .values(state=HandoffState.cancelled.value, last_error=why)
        )
        return int(self.conn.execute(query).rowcount)

    def for_order(self, order_id: str) -> list[HandoffView]:
        query = select(handoffs).where(handoffs.c.order_id == order_id).order_by(handoffs.c.seq)
        return [
            HandoffView(_handoff(row, self.seal), row.delivered_at, row.agency_ref, row.last_status)
            for row in self.conn.execute(query)
        ]

    def count_by_state(self) -> dict[str, int]:
        query = select(handoffs.c.state, func.count()).group_by(handoffs.c.state)
        return {state: count for state, count in self.conn.execute(query).all()}

    def dead_letters(
        self, which: DeadLetterFilter, after_seq: int, limit: int, upto_seq: int | None = None
    ) -> list[DeadLetter]:
        query = select(*_DEAD_COLUMNS).where(*_dead_where(which), handoffs.c.seq > after_seq)
        if upto_seq is not None:
            query = query.where(handoffs.c.seq <= upto_seq)
        rows = self.conn.execute(query.order_by(handoffs.c.seq).limit(limit))
        return [DeadLetter(**row._asdict()) for row in rows]

    def count_dead(self, which: DeadLetterFilter) -> int:
        query = select(func.count()).select_from(handoffs).where(*_dead_where(which))
        return int(self.conn.execute(query).scalar_one())

    def revive(self, ids: Iterable[str], now: float) -> int:
        statement = (
            update(handoffs)
            .where(handoffs.c.id.in_(list(ids)), handoffs.c.state == HandoffState.dead.value)
            .values(
                state=HandoffState.pending.value,
                attempts=0,
                next_attempt_at=now,
                lease_until=None,
                lease_owner=None,
                claim=None,
            )
        )
        return int(self.conn.execute(statement).rowcount)

    def failures(
        self, query: FailureQuery, before_seq: int | None, limit: int
    ) -> list[FailedDelivery]:
        return failed_handoffs.failures(self.conn, query, before_seq, limit)

    def count_failures(self, query: FailureQuery) -> int:
        return failed_handoffs.count_failures(self.conn, query)

    def newest_seq(self) -> int:
        return int(
            self.conn.execute(select(func.coalesce(func.max(handoffs.c.seq), 0))).scalar_one()
        )

    def open_counts(self) -> dict[tuple[str, str, str], int]:
        c = handoffs.c
        query = (
            select(c.state, c.agency, c.lane, func.count())
            .where(c.state.in_((*ACTIVE, HandoffState.dead.value)))
            .group_by(c.state, c.agency, c.lane)
        )
        return {(state, agency, lane): n for state, agency, lane, n in self.conn.execute(query)}


_ADD_HANDOFF = PlainWrite(insert(handoffs))
_LEASE = PlainWrite(
    update(handoffs)
    .where(handoffs.c.id == bindparam("b_id"))
    .values(attempts=handoffs.c.attempts + 1)
)


_DEAD_COLUMNS = [
    handoffs.c[name]
    for name in (
        "seq",
        "id",
        "order_id",
        "agency",
        "kind",
        "lane",
        "attempts",
        "last_error",
        "last_status",
        "created_at",
    )
]


def _dead_where(which: DeadLetterFilter) -> list[ColumnElement[bool]]:
    """The WHERE clauses selecting the dead handoffs `which` names."""
    where = [handoffs.c.state == HandoffState.dead.value]
    if which.agency is not None:
        where.append(handoffs.c.agency == which.agency)
    if which.since is not None:
        where.append(handoffs.c.created_at >= which.since)
    if which.until is not None:
        where.append(handoffs.c.created_at < which.until)
    if which.handoff_ids:
        where.append(handoffs.c.id.in_(which.handoff_ids))
    return where


def _handoff(
    row: Any, seal: PersonalSeal, attempts: int | None = None, claim: str | None = None
) -> Handoff:
    return Handoff(
        id=row.id,
        order_id=row.order_id,
        agency=row.agency,
        kind=HandoffKind(row.kind),
        lane=Lane(row.lane),
        body=seal.open_body(row.id, bytes(row.body)),
        body_digest=row.body_digest,
        attempts=row.attempts if attempts is None else attempts,
        state=HandoffState(row.state),
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
        last_error=row.last_error,
        claim=claim,
        traceparent=row.traceparent,
    )


class SqlInbound:
    """Ids of messages already received, per sending party, and their signed bodies (sealed)."""

    def __init__(self, conn: Connection, seal: PersonalSeal) -> None:
        self.conn = conn
        self.seal = seal

    def remember(self, party: str, message_id: str, now: float, body: bytes | None = None) -> bool:
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        key = inbound_key(party, message_id)
        stored = None if body is None else self.seal.seal_body(key, body)
        statement = (
            dialect.insert(inbound_messages)
            .values(party=party, message_id=message_id, received_at=now, body=stored)
            .on_conflict_do_nothing()
            .returning(inbound_messages.c.message_id)
        )
        return self.conn.execute(statement).first() is not None


def inbound_key(party: str, message_id: str) -> str:
    """What a received body is sealed to: it cannot be moved to another message."""
    return f"inbound:{party}:{message_id}"


def inbound_body(row: Any, seal: PersonalSeal) -> bytes | None:
    """A received message's signed bytes from its `inbound_messages` row (None when not kept)."""
    if row.body is None:
        return None
    return seal.open_body(inbound_key(row.party, row.message_id), bytes(row.body))


_HELD = PlainRead(
    select(agency_state.c.agency).where(
        agency_state.c.disabled.is_(True) | agency_state.c.paused.is_(True)
    )
)


class SqlAgencies:
    """Per-agency operating state: disabled endpoints (410) and pauses by an operator."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def disable(self, agency: str, reason: str, now: float) -> None:
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(agency_state).values(
            agency=agency, disabled=True, reason=reason, updated_at=now
        )
        self.conn.execute(
            statement.on_conflict_do_update(
                index_elements=["agency"],
                set_={"disabled": True, "reason": reason, "updated_at": now},
            )
        )

    def disabled(self) -> set[str]:
        query = select(agency_state.c.agency).where(agency_state.c.disabled.is_(True))
        return set(self.conn.execute(query).scalars())

    def pause(self, agency: str, by: str, reason: str, now: float) -> None:
        self._upsert(agency, paused=True, reason=reason, changed_by=by, updated_at=now)

    def enable(self, agency: str, by: str, now: float) -> None:
        self._upsert(
            agency, paused=False, disabled=False, reason=None, changed_by=by, updated_at=now
        )

    def held(self) -> set[str]:
        return {agency for (agency,) in _HELD.all(self.conn, {})}

    def states(self) -> dict[str, AgencyState]:
        rows = self.conn.execute(select(agency_state))
        return {row.agency: AgencyState(**row._asdict()) for row in rows}

    def _upsert(self, agency: str, **values: Any) -> None:
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(agency_state).values(
            agency=agency, **{"disabled": False, **values}
        )
        self.conn.execute(statement.on_conflict_do_update(index_elements=["agency"], set_=values))


class SqlCursors:
    """Where each polled board was read up to (read with its row's lock when `locking`,
    as orders are: two writers must not both move on from the same cursor)."""

    def __init__(self, conn: Connection, locking: bool = False) -> None:
        self.conn = conn
        self.locking = locking and conn.dialect.name == "postgresql"

    def get(self, party: str) -> str | None:
        query = select(poll_cursors.c.cursor).where(poll_cursors.c.party == party)
        if self.locking:
            query = query.with_for_update()
        value = self.conn.execute(query).scalar()
        return None if value is None else str(value)

    def save(self, party: str, cursor: str, now: float) -> None:
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(poll_cursors).values(party=party, cursor=cursor, updated_at=now)
        self.conn.execute(
            statement.on_conflict_do_update(
                index_elements=["party"], set_={"cursor": cursor, "updated_at": now}
            )
        )
