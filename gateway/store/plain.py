"""The hottest writes, run straight on the database driver.

SQLAlchemy Core spends 20–60 µs of Python on each execute (the cache key, a parameter
dict per row, the result's set-up) around a driver call of a few µs. An order runs about
fifteen writes, on the one thread that writes SQLite, and the profile of the end-to-end
benchmark put a quarter of the gateway's GIL time there. `PlainWrite` compiles a Core
INSERT or UPDATE once per dialect and set of column names, then runs it on the DBAPI
cursor of the connection's open transaction, applying the same parameter conversions
SQLAlchemy would. Reads stay on Core: their rows are used by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.sql.dml import UpdateBase


@dataclass(frozen=True)
class _Compiled:
    """One statement's text for one dialect and column set, and how to lay out its values."""

    sql: str
    positions: tuple[str, ...] | None  # parameter names in order (qmark), or None (named)
    convert: Mapping[str, Callable[[Any], Any]]  # SQLAlchemy's bind processors, if any
    fixed: Mapping[str, Any]  # the statement's own literals (`id == 1`), already bound

    def parameters(self, values: Mapping[str, Any]) -> Sequence[Any] | Mapping[str, Any]:
        if self.fixed:
            values = {**self.fixed, **values}
        convert = self.convert
        if self.positions is None:
            if not convert:
                return values
            return {k: convert[k](v) if k in convert else v for k, v in values.items()}
        return [convert[k](values[k]) if k in convert else values[k] for k in self.positions]


class PlainWrite:
    """An INSERT or UPDATE compiled once, run on the driver with dicts of values.

    Every dict passed in one call has the same keys: the column values, plus the names
    of any `bindparam` in the WHERE clause."""

    def __init__(self, statement: UpdateBase) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, tuple[str, ...]], _Compiled] = {}

    def run(self, conn: Connection, values: Mapping[str, Any]) -> int:
        """Execute once; the number of rows it wrote."""
        compiled = self._for(conn.dialect, tuple(values))
        with closing(_cursor(conn)) as cursor:
            cursor.execute(compiled.sql, compiled.parameters(values))
            return int(cursor.rowcount)

    def run_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Execute once per row, in one driver call."""
        if not rows:
            return
        compiled = self._for(conn.dialect, tuple(rows[0]))
        with closing(_cursor(conn)) as cursor:
            cursor.executemany(compiled.sql, [compiled.parameters(row) for row in rows])

    def _for(self, dialect: Dialect, keys: tuple[str, ...]) -> _Compiled:
        found = self._compiled.get((dialect.name, keys))
        if found is None:
            found = self._compiled[(dialect.name, keys)] = _compile(self.statement, dialect, keys)
        return found


def _compile(statement: UpdateBase, dialect: Dialect, keys: tuple[str, ...]) -> _Compiled:
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
    return _Compiled(compiled.string, positions, convert, fixed)


def _cursor(conn: Connection) -> Any:
    """A DBAPI cursor in the transaction `conn` has open."""
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
