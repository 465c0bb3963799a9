from __future__ import annotations

from pathlib import Path

from gateway.domain.assignments import step_table
from gateway.domain.states import transition_table

DOC = Path(__file__).parents[3] / "docs" / "state-machine.md"


def test_the_documented_transition_table_is_the_one_in_the_code() -> None:
    text = DOC.read_text(encoding="utf-8")
    table = text.split("<!-- transitions:begin -->\n")[1].split("\n<!-- transitions:end -->")[0]
    rows = [line for line in table.splitlines()[2:] if line.startswith("|")]
    documented = [tuple(cell.strip() for cell in row.strip("|").split("|")) for row in rows]
    assert documented == transition_table()


def test_the_documented_assignment_steps_are_the_ones_in_the_code() -> None:
    text = DOC.read_text(encoding="utf-8")
    table = text.split("<!-- steps:begin -->\n")[1].split("\n<!-- steps:end -->")[0]
    rows = [line for line in table.splitlines()[2:] if line.startswith("|")]
    documented = [tuple(cell.strip() for cell in row.strip("|").split("|")) for row in rows]
    assert documented == step_table()
