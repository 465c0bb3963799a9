"""Which database errors mean "run that unit of work again", and how long to wait first.

On PostgreSQL several writers run side by side and lock rows (orders, cursors) in the
order their work reads them, so two transactions can wait for each other: PostgreSQL
then aborts one (deadlock_detected). Two intakes of one new order both find nothing and
both insert it: the second fails on the unique key once the first commits
(unique_violation), and run again it finds the order. A serialization failure is retried
too, should a transaction ever run at a stricter isolation level. Nothing of an aborted
transaction was committed, so running the unit of work again is safe: the store does so a
few times, each alone in its transaction, before its caller sees the error.

A transaction whose connection was lost (the server ended the session, restarted, the
network dropped it) before its COMMIT was asked for committed nothing either: the store
marks that error as lost in time and runs the unit again on a fresh connection. One lost
during or after the COMMIT may have committed, and is not run again: its caller hears the
error, as it would without the retry.
"""

from __future__ import annotations

import random

RETRY_SQLSTATES = frozenset(
    {
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
        "23505",  # unique_violation: a concurrent insert of the same key won
    }
)
ATTEMPTS = 6  # runs of one unit of work at most, the first included
FIRST_WAIT = 0.002  # seconds before the second run; doubled for each run after it


LOST_IN_TIME = "lianxin_lost_in_time"  # attribute set on an error by `mark_lost_in_time`


def should_retry(exc: BaseException) -> bool:
    """Whether `exc` is PostgreSQL aborting a transaction that may succeed when run again,
    or a connection lost before the COMMIT was asked for.

    Statements run through SQLAlchemy raise its wrapper (the driver's error in `orig`);
    the driver's own statements raise psycopg's errors, which carry the SQLSTATE."""
    orig = getattr(exc, "orig", None) or exc
    return getattr(orig, "sqlstate", None) in RETRY_SQLSTATES or lost_in_time(exc)


def mark_lost_in_time(exc: BaseException) -> None:
    """Note on `exc` that its transaction's connection was lost before the COMMIT was
    asked for: nothing was committed, so the unit of work may run again."""
    setattr(exc, LOST_IN_TIME, True)


def lost_in_time(exc: BaseException) -> bool:
    """Whether `exc` was marked by `mark_lost_in_time`."""
    return bool(getattr(exc, LOST_IN_TIME, False))


def wait_before(run: int) -> float:
    """Seconds to wait before run number `run` (2, 3, …): doubling, with jitter, so two
    transactions that collided do not collide again in step."""
    return float(FIRST_WAIT * 2 ** (run - 2) * (0.5 + random.random()))
