"""Settling an order's watches in one statement on PostgreSQL (one round trip, not two).

The plan is changed inside the database: the row is locked by the `FOR UPDATE` of the
first CTE (which returns its latest version), its armed entries of the kinds (and agency)
marked settled, `next_due` recomputed from the entries still armed, and the row written
only when something was settled. It answers as `watch_plan.settle` does, on the text the
store wrote (the plan comes back as jsonb's text: the same entries, keys reordered). SQLite
runs in the process, where a read and a write cost microseconds; it reads and writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import closing

from sqlalchemy import Connection

from gateway.store.plain import driver_cursor

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


def settle_on_postgresql(
    conn: Connection, order_id: str, kinds: Iterable[str], agency: str | None
) -> int:
    """Disarm the order's armed watches of `kinds` (of one agency when given); how many."""
    values = {"order_id": order_id, "kinds": list(kinds), "agency": agency}
    with closing(driver_cursor(conn)) as cursor:
        cursor.execute(SETTLE, values)
        row = cursor.fetchone()
    return int(row[0]) if row else 0
