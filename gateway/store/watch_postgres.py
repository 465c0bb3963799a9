"""Arming and settling an order's watches in one statement each on PostgreSQL.

Each changes the plan inside the database, on the row's latest version under its lock, so
that re-arming (an emergency agency after the cards, an extension) and settling (signing,
closing) are one round trip, as they were with one row per watch. The plan comes back as
jsonb's text (the same entries, keys reordered), which `watch_plan.loads` reads as it
reads the store's own. They answer as `watch_plan.armed` and `watch_plan.settle` do
(tests/integration/store/test_order_watches.py runs both against the per-watch model).
SQLite runs in the process, where a read and a write cost microseconds: it reads and
writes (gateway/store/watches.py).

Settle: the first CTE locks the row (`FOR UPDATE` returns its latest version), the armed
entries of the kinds (and agency) are marked settled, `next_due` is recomputed from those
still armed, and the row is written only when something was settled.

Arm: `INSERT … ON CONFLICT DO UPDATE`, which locks an existing row and sees its latest
version: each entry already there is replaced in place by the new one with its key (kind,
level, agency), new keys are appended, and `next_due` is the soonest of the new entries
(all armed) and of the old armed ones not replaced.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection

from gateway.store.plain import ask, send_later

SETTLE = """
WITH old AS (
    SELECT plan::jsonb AS plan FROM order_watches
    WHERE order_id = %(order_id)s AND next_due IS NOT NULL
    FOR UPDATE
), marked AS (
    SELECT e, n, (
        e->>'state' = 'armed'
        AND e->>'kind' = ANY(%(kinds)s::text[])
        AND (%(agency)s::text IS NULL OR e->>'agency' = %(agency)s::text)
    ) AS hit
    FROM old, jsonb_array_elements(old.plan) WITH ORDINALITY AS entries(e, n)
), settled AS (
    SELECT
        jsonb_agg(CASE WHEN hit THEN jsonb_set(e, '{state}', '"settled"') ELSE e END
                  ORDER BY n) AS plan,
        min((e->>'due_at')::float8) FILTER (WHERE e->>'state' = 'armed' AND NOT hit)
            AS next_due,
        count(*) FILTER (WHERE hit) AS hits
    FROM marked
)
UPDATE order_watches SET plan = settled.plan::text, next_due = settled.next_due
FROM settled
WHERE order_watches.order_id = %(order_id)s AND settled.hits > 0
RETURNING settled.hits
"""


_SAME_KEY = """o.e->>'kind' = n.e->>'kind' AND o.e->>'level' = n.e->>'level'
    AND o.e->>'agency' = n.e->>'agency'"""
_OLD = "jsonb_array_elements(order_watches.plan::jsonb) WITH ORDINALITY AS o(e, i)"
_NEW = "jsonb_array_elements(excluded.plan::jsonb) WITH ORDINALITY AS n(e, j)"
ARM = f"""
INSERT INTO order_watches (order_id, plan, next_due)
VALUES (%(order_id)s, %(plan)s, %(next_due)s)
ON CONFLICT (order_id) DO UPDATE SET
plan = (
    SELECT jsonb_agg(e ORDER BY pos)::text FROM (
        SELECT coalesce(n.e, o.e) AS e, o.i AS pos
        FROM {_OLD} LEFT JOIN {_NEW} ON {_SAME_KEY}
        UNION ALL
        SELECT n.e, (SELECT count(*) FROM {_OLD}) + n.j
        FROM {_NEW} WHERE NOT EXISTS (SELECT 1 FROM {_OLD} WHERE {_SAME_KEY})
    ) AS merged
),
next_due = (
    SELECT min(due) FROM (
        SELECT (o.e->>'due_at')::float8 AS due FROM {_OLD}
        WHERE o.e->>'state' = 'armed'
        AND NOT EXISTS (SELECT 1 FROM {_NEW} WHERE {_SAME_KEY})
        UNION ALL SELECT excluded.next_due
    ) AS armed
)
"""


def arm_on_postgresql(conn: Connection, values: dict[str, object]) -> None:
    """Insert the order's row (`order_id`, `plan`, `next_due`), or merge its plan in.

    Nobody reads its answer: it waits in the connection's queue and goes with the next
    statement that needs one (gateway/store/plain.py)."""
    send_later(conn, ARM, values)


def settle_on_postgresql(
    conn: Connection, order_id: str, kinds: Iterable[str], agency: str | None
) -> int:
    """Disarm the order's armed watches of `kinds` (of one agency when given); how many."""
    values = {"order_id": order_id, "kinds": list(kinds), "agency": agency}
    rows = ask(conn, SETTLE, values, fetch="first").rows  # with what is queued: one round trip
    return int(rows[0][0]) if rows else 0
