"""The claim statement: due handoffs of every agency with a quota, in one SELECT.

Agencies that are held (disabled after a 410, or paused by an operator) are passed over
by the statement itself, so a claim needs no read of `agency_state` before it.

A claim used to run two queries per agency (expired leases, then due pending handoffs):
about 24 executes per claim with a dozen agencies, most of its time SQLAlchemy's
per-execute overhead on SQLite and round trips on PostgreSQL. Here each of those queries
is one member of a UNION ALL, each with its own ORDER BY and LIMIT, so each stays an index
range scan on `ix_handoffs_due` that stops after its quota (a backlog of one agency is
never read by the other members). The text is built once per number of agencies and
dialect; only the parameters change.

On PostgreSQL each member takes `FOR UPDATE SKIP LOCKED` (in a sub-select in FROM: it is
refused on a UNION itself), so several processes share the outbox. Planning two dozen
members costs more than running them (about 6 ms against 2 ms with a 50,000-row backlog),
and the planner keeps choosing fresh plans because the generic one's cost, with unknown
LIMITs, looks high; so the claim asks for the generic plan of the prepared statement
(psycopg prepares it after five executions on a connection). Its shape cannot drift to a
table-wide anti-join with the estimates: `OFFSET 0` keeps the FIFO check a sub-plan, one
index probe of `ix_handoffs_fifo` per candidate row.
"""

from __future__ import annotations

import itertools
from collections import Counter, namedtuple
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Dialect, TextClause, text

from gateway.domain.messages import HandoffState, Lane, in_turns
from gateway.store.plain import DriverStatement, ask, compile_plain, send_later

#: the columns a claim reads (what `Handoff` is built from), plus `seq` for ordering
COLUMNS = (
    "seq",
    "id",
    "order_id",
    "agency",
    "kind",
    "lane",
    "body",
    "body_digest",
    "state",
    "attempts",
    "next_attempt_at",
    "created_at",
    "last_error",
    "traceparent",
)
ClaimRow = namedtuple("ClaimRow", ("part", *COLUMNS))  # type: ignore[misc]
_OPEN = f"'{HandoffState.pending.value}', '{HandoffState.in_flight.value}'"
_DUE = {
    HandoffState.in_flight: "h.lease_until < :now",  # a lease ran out: its owner is gone
    HandoffState.pending: "h.next_attempt_at <= :now",
}
_PASSES = (HandoffState.in_flight, HandoffState.pending)  # expired leases first
#: whether the agency is held (disabled or paused): not correlated with the row, so run
#: once per member (SQLite's once-only subquery, PostgreSQL's InitPlan), an index probe
_HELD = (
    "SELECT 1 FROM agency_state AS s WHERE s.agency = :agency_{agency} AND (s.disabled OR s.paused)"
)
_GENERIC_PLAN = "SET LOCAL plan_cache_mode = force_generic_plan"


def _member(part: int, agency: int, state: HandoffState, postgres: bool) -> str:
    """Due handoffs in `state` of the `agency`-th agency, each the oldest open handoff of
    its order and agency, at most its quota, tagged with `part` for the final order."""
    columns = ", ".join(f"h.{name}" for name in COLUMNS)
    keep_subplan = " OFFSET 0" if postgres else ""
    locking = " FOR UPDATE OF h SKIP LOCKED" if postgres else ""
    return (
        f"SELECT * FROM (SELECT {part} AS part, {columns} FROM handoffs AS h"
        f" WHERE h.state = '{state.value}' AND h.agency = :agency_{agency}"
        f" AND h.lane = :lane AND {_DUE[state]}"
        f" AND NOT EXISTS ({_HELD.format(agency=agency)})"
        " AND NOT EXISTS (SELECT 1 FROM handoffs AS e WHERE e.order_id = h.order_id"
        f" AND e.agency = h.agency AND e.seq < h.seq AND e.state IN ({_OPEN}){keep_subplan})"
        f" ORDER BY h.next_attempt_at, h.seq LIMIT :quota_{agency}{locking}) AS p{part}"
    )


@lru_cache(maxsize=64)
def statement(agencies: int, dialect: str) -> TextClause:
    """The claim SELECT for `agencies` agencies: expired leases first, then pending
    handoffs, agency by agency, each part ordered by due time then sequence."""
    postgres = dialect == "postgresql"
    members = [
        _member(len(_PASSES) * n + pass_, n, state, postgres)
        for n in range(agencies)
        for pass_, state in enumerate(_PASSES)
    ]
    return text(" UNION ALL ".join(members) + " ORDER BY part, next_attempt_at, seq")


def claimable(
    conn: Connection,
    now: float,
    quotas: Mapping[str, int],
    lane: Lane,
    limit: int | None = None,
) -> list[Any]:
    """Rows to lease: at most `quotas[agency]` per agency, expired leases first, and
    `limit` in all (shared out in turns).

    On PostgreSQL the rest of the transaction also uses generic plans for prepared
    statements (the claim's UPDATE, the audit rows): simple statements on unique keys."""
    agencies = [agency for agency, quota in quotas.items() if quota > 0]
    if not agencies:
        return []
    params: dict[str, Any] = {"now": now, "lane": lane.value}
    for n, agency in enumerate(agencies):
        params[f"agency_{n}"] = agency
        params[f"quota_{n}"] = quotas[agency]
    claim = _driver_statement(len(agencies), conn.dialect)
    if conn.dialect.name == "postgresql":
        # queued: it goes with the SELECT, in one round trip (it was one of its own)
        send_later(conn, _GENERIC_PLAN)
    # with what is queued: one round trip
    answer = ask(conn, claim.sql, claim.parameters(params), writes=False)
    rows = [ClaimRow._make(row) for row in answer.rows]
    return within_quotas(rows, quotas, limit)


def leased(
    conn: Connection,
    now: float,
    quotas: Mapping[str, int],
    lane: Lane,
    lease: Mapping[str, Any],
    limit: int | None = None,
) -> list[Any]:
    """PostgreSQL: pick the rows `claimable` would and lease them (`lease`: the columns
    every leased row gets) in one statement; each row as read, with its new claim token
    as `claim`. When the running unit is its transaction's only one (a claim, run alone:
    `Deferred.alone`) the COMMIT goes in the same round trip: one round trip a claim,
    where picking and then leasing took two.

    The cut to `limit` is made in the statement, in turns as `within_quotas` makes it
    (each agency's first row, then each one's second, from an agency one further on at
    each claim that may be cut)."""
    agencies = [agency for agency, quota in quotas.items() if quota > 0]
    if not agencies:
        return []
    params: dict[str, Any] = {"now": now, "lane": lane.value, **lease}
    for n, agency in enumerate(agencies):
        params[f"agency_{n}"] = agency
        params[f"quota_{n}"] = quotas[agency]
    cut = limit is not None and sum(quotas[a] for a in agencies) > limit
    params["first"] = next(_FIRST_IN_TURN) % len(agencies) if cut else 0
    params["cut"] = limit if cut else None  # LIMIT NULL: no limit
    lease_sql = _driver_lease(len(agencies), conn.dialect, tuple(lease))
    send_later(conn, _GENERIC_PLAN)  # with the statement: one round trip
    answer = ask(conn, lease_sql.sql, lease_sql.parameters(params), ends=True)
    rows = [LeasedRow._make(row) for row in answer.rows]
    return sorted(rows, key=_read_order)


def _read_order(row: Any) -> tuple[int, float, int]:
    return row.part, row.next_attempt_at, row.seq


LeasedRow = namedtuple("LeasedRow", (*ClaimRow._fields, "claim"))  # type: ignore[misc]


@lru_cache(maxsize=64)
def _driver_lease(agencies: int, dialect: Dialect, columns: tuple[str, ...]) -> DriverStatement:
    """The claim SELECT as a lease: the rows it reads, each agency's cut to its quota
    (both parts together) and all of them to `:cut` in turns, updated with `columns`, a
    fresh claim token and one attempt more, and returned as they were read."""
    picked = statement(agencies, dialect.name).text
    quota = " ".join(f"WHEN {n} THEN :quota_{n}" for n in range(agencies))
    turn = f"mod(part / {len(_PASSES)} - :first + {agencies}, {agencies})"
    values = ", ".join(f"{column} = :{column}" for column in columns)
    returned = ", ".join(f"kept.{name}" for name in ("part", *COLUMNS))
    sql = (
        f"WITH picked AS ({picked}), ranked AS (SELECT picked.*, row_number() OVER"
        f" (PARTITION BY part / {len(_PASSES)} ORDER BY part, next_attempt_at, seq)"
        " AS within FROM picked), kept AS (SELECT * FROM ranked WHERE within <="
        f" CASE part / {len(_PASSES)} {quota} END ORDER BY within, {turn} LIMIT :cut)"
        f" UPDATE handoffs AS h SET {values}, attempts = h.attempts + 1,"
        " claim = left(md5(gen_random_uuid()::text), 16)"
        f" FROM kept WHERE h.id = kept.id RETURNING {returned}, h.claim"
    )
    return compile_plain(text(sql), dialect)


@lru_cache(maxsize=64)
def _driver_statement(agencies: int, dialect: Dialect) -> DriverStatement:
    """The claim SELECT as the driver takes it.

    Run on the driver's cursor: through SQLAlchemy it cost 7 % of the gateway's GIL
    samples in the e2e run, mostly around the driver call."""
    return compile_plain(statement(agencies, dialect.name), dialect)


_FIRST_IN_TURN = itertools.count()  # each cut claim starts its turns one agency further on


def within_quotas(
    rows: Sequence[Any], quotas: Mapping[str, int], limit: int | None = None
) -> list[Any]:
    """The first `quotas[agency]` rows of each agency, `limit` in all (shared out in turns
    in the quotas' order, from an agency one further on at each cut claim: `in_turns`), in
    the order read. (SQLite's claims; PostgreSQL's cut in the statement, `leased`, moves
    the first agency on at each claim that may be cut: one whose quotas add up to more
    than its limit.)

    Both parts of an agency are limited to its whole quota (SQL cannot give the pending
    part what the expired part left over), so with expired leases an agency can return
    more rows than its quota; and each agency's quota is its own room, so together they
    can return more than the claim's `limit` (the dispatcher's free slots) when several
    agencies have that much due. The rows beyond are dropped here: read, not leased. On
    PostgreSQL they stay locked until the claim commits, which only makes a concurrent
    claim skip them (and a claim commits at once: it waits for no lock)."""
    taken: Counter[str] = Counter()
    kept = []
    for row in rows:
        if taken[row.agency] < quotas[row.agency]:
            taken[row.agency] += 1
            kept.append(row)
    if limit is None or len(kept) <= limit:
        return kept
    wanted = {agency: taken[agency] for agency in quotas}
    shares = Counter(in_turns(wanted, limit, next(_FIRST_IN_TURN)))
    return [row for row in kept if _take(shares, row.agency)]


def _take(shares: Counter[str], agency: str) -> bool:
    """Whether `agency` has a share left (one is used)."""
    if shares[agency] <= 0:
        return False
    shares[agency] -= 1
    return True
