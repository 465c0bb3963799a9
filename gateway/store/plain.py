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
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect, Float, Integer, Select, String, TextClause
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

    def parameters(self, values: Mapping[str, Any]) -> Sequence[Any] | Mapping[str, Any]:
        if self.fixed:
            values = {**self.fixed, **values}
        convert = self.convert
        if self.positions is None:
            if not convert:
                return values
            return {k: convert[k](v) if k in convert else v for k, v in values.items()}
        return [convert[k](values[k]) if k in convert else values[k] for k in self.positions]


class _Plain:
    """A statement compiled once per dialect and set of parameter names."""

    def __init__(self, statement: UpdateBase | Select[Any]) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, tuple[str, ...]], DriverStatement] = {}

    def _for(self, dialect: Dialect, keys: tuple[str, ...]) -> DriverStatement:
        found = self._compiled.get((dialect.name, keys))
        if found is None:
            statement = self._statement_for(dialect)
            found = self._compiled[(dialect.name, keys)] = compile_plain(statement, dialect, keys)
        return found

    def _statement_for(self, _dialect: Dialect) -> UpdateBase | Select[Any]:
        return self.statement


class PlainWrite(_Plain):
    """An INSERT or UPDATE compiled once, run on the driver with dicts of values.

    Every dict passed in one call has the same keys: the column values, plus the names
    of any `bindparam` in the WHERE clause."""

    def run(self, conn: Connection, values: Mapping[str, Any]) -> int:
        """Execute once; the number of rows it wrote."""
        compiled = self._for(conn.dialect, tuple(values))
        with closing(driver_cursor(conn)) as cursor:
            cursor.execute(compiled.sql, compiled.parameters(values))
            return int(cursor.rowcount)

    def run_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Execute once per row, in one driver call."""
        if not rows:
            return
        compiled = self._for(conn.dialect, tuple(rows[0]))
        with closing(driver_cursor(conn)) as cursor:
            cursor.executemany(compiled.sql, [compiled.parameters(row) for row in rows])


class PlainRead(_Plain):
    """A SELECT compiled once per dialect, run on the driver; rows come back as tuples.

    `for_update` adds FOR UPDATE where the database has it (PostgreSQL)."""

    def __init__(self, statement: Select[Any], for_update: bool = False) -> None:
        super().__init__(statement)
        self.select = statement
        self.for_update = for_update

    def first(self, conn: Connection, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row, or None."""
        compiled = self._for(conn.dialect, tuple(values))
        with closing(driver_cursor(conn)) as cursor:
            cursor.execute(compiled.sql, compiled.parameters(values))
            row = cursor.fetchone()
        return None if row is None else tuple(row)

    def all(self, conn: Connection, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Every row."""
        compiled = self._for(conn.dialect, tuple(values))
        with closing(driver_cursor(conn)) as cursor:
            cursor.execute(compiled.sql, compiled.parameters(values))
            return [tuple(row) for row in cursor.fetchall()]

    def _statement_for(self, dialect: Dialect) -> Select[Any]:
        _check_columns(self.select)
        if self.for_update and dialect.name == "postgresql":
            return self.select.with_for_update()
        return self.select


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
    """A DBAPI cursor in the transaction `conn` has open."""
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
