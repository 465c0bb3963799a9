"""`DriverStatement.parameters` lays out values as the driver takes them, whichever way
it picks them (in C when nothing is converted or fixed, else one by one)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from gateway.store.plain import DriverStatement, compile_plain
from gateway.store.schema import audit_head, audit_log, handoffs, poll_cursors

DIALECTS = [sqlite.dialect(), postgresql.psycopg.dialect()]  # type: ignore[attr-defined]
ROW = {
    "id": "h_1",
    "order_id": "wo_1",
    "agency": "tax-12366",
    "kind": "transfer",
    "lane": "normal",
    "body": "{}",
    "body_digest": "d" * 64,
    "state": "pending",
    "attempts": 0,
    "next_attempt_at": 1.5,
    "traceparent": None,
    "created_at": 2.5,
}


def _one_by_one(statement: DriverStatement, values: dict[str, Any]) -> Any:
    """The general layout, as it was before the C path."""
    values = {**statement.fixed, **values}
    convert = statement.convert
    if statement.positions is None:
        return {k: convert[k](v) if k in convert else v for k, v in values.items()}
    return [convert[k](values[k]) if k in convert else values[k] for k in statement.positions]


CASES = [
    (insert(audit_log), {c.name: f"v-{c.name}" for c in audit_log.columns}),
    (insert(handoffs), ROW),  # floats SQLAlchemy converts on SQLite
    (update(audit_head).where(audit_head.c.id == 1), {"seq": 7, "hash": "f" * 64}),  # a literal
    (select(poll_cursors.c.cursor).where(poll_cursors.c.party == bindparam("p")), {"p": "a"}),
]


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
@pytest.mark.parametrize(("statement", "values"), CASES, ids=["many", "converted", "fixed", "one"])
def test_values_are_laid_out_as_one_by_one(dialect: Any, statement: Any, values: Any) -> None:
    compiled = compile_plain(statement, dialect, tuple(values))
    assert list(_as_list(compiled.parameters(values))) == list(
        _as_list(_one_by_one(compiled, values))
    )


def _as_list(laid_out: Any) -> Any:
    return laid_out.items() if isinstance(laid_out, dict) else laid_out


def test_a_single_parameter_is_still_a_sequence() -> None:
    compiled = compile_plain(CASES[3][0], sqlite.dialect(), ("p",))
    assert compiled.parameters({"p": "a"}) == ("a",)
