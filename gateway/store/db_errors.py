"""The database's own refusals, translated into typed errors at the store's boundary.

The wire models keep values within the columns (`gateway/domain/bounds.py`); should one
get past them, PostgreSQL answers `DataError` (too long, NUL, out of range) and SQLite
`OverflowError` (past 64 bits): both become a 422 `out_of_bounds`, never a 500. A database
that refuses to write (disk full, read-only, unreachable) becomes a 503
`store_unavailable` with `Retry-After`: nothing of that unit of work was committed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from gateway.domain.errors import LianxinError, OutOfBounds, StoreUnavailable

log = logging.getLogger("lianxin.store")
READ_ONLY_SQLSTATE = "25006"  # PostgreSQL: read_only_sql_transaction


class WriteHealth:
    """Whether the last write went through; what readiness and the alert log read."""

    def __init__(self) -> None:
        self.refused_since: float | None = None
        self.reason = ""
        self.refused_writes = 0  # since the process started

    @property
    def refusing(self) -> bool:
        """True from a refused write until a write succeeds again."""
        return self.refused_since is not None

    def failed(self, reason: str) -> None:
        """Remember a refused write; the first of a run is logged as an operational alert."""
        self.refused_writes += 1
        if self.refused_since is None:
            self.refused_since = time.time()
            log.error("ALERT store_unavailable: the database refuses writes: %s", reason)
        self.reason = reason

    def succeeded(self) -> None:
        """A write committed: the database takes writes again."""
        if self.refused_since is not None:
            log.warning("the database takes writes again")
        self.refused_since, self.reason = None, ""


def translate(exc: BaseException) -> LianxinError | None:
    """The typed error for a database refusal, or None when `exc` is not one.

    Statements run through SQLAlchemy raise its wrappers; the hot statements run on the
    driver's cursor (`plain.py`) raise the driver's own PEP 249 classes, of the same names.
    """
    kinds = {cls.__name__ for cls in type(exc).__mro__}
    if "DataError" in kinds or isinstance(exc, OverflowError):
        return OutOfBounds(
            "a value is too long, too large, or holds a character the database cannot store"
        )
    orig = getattr(exc, "orig", None) or exc
    read_only = getattr(orig, "sqlstate", None) == READ_ONLY_SQLSTATE
    if "OperationalError" in kinds or ("InternalError" in kinds and read_only):
        return StoreUnavailable(f"the database refuses to write: {_first_line(exc)}")
    return None


def from_the_database(exc: BaseException) -> bool:
    """Whether `exc` is a PEP 249 error: SQLAlchemy's wrapper or the driver's own (a
    statement the database refused, or a connection that failed)."""
    kinds = {cls.__name__ for cls in type(exc).__mro__}
    return not kinds.isdisjoint({"DBAPIError", "DatabaseError", "InterfaceError"})


@contextmanager
def translated(health: WriteHealth | None = None) -> Iterator[None]:
    """Raise database refusals as typed errors; keep `health` up to date."""
    try:
        yield
    except Exception as exc:
        typed = translate(exc)
        if typed is None:
            raise
        if health is not None and isinstance(typed, StoreUnavailable):
            health.failed(typed.message)
        raise typed from exc
    if health is not None:
        health.succeeded()


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return str(orig).strip().splitlines()[0][:200] if str(orig).strip() else type(orig).__name__
