"""Percentiles and the printed table."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) by nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


@dataclass(frozen=True)
class Row:
    """One line of the results table."""

    benchmark: str
    store: str
    figure: str
    ceiling: str
    ratio: str
    note: str = ""
    reference: str = ""  # Lianxin's figure as a ratio to the reference pipeline's
    cpu_ms: str = ""  # CPU ms per order of the server process(es)


def ratio(figure: float, ceiling: float) -> str:
    """figure / ceiling as a percentage."""
    return f"{100 * figure / ceiling:.1f}%" if ceiling else "-"


def times(figure: float, other: float) -> str:
    """figure / other as a factor ("0.42x")."""
    return f"{figure / other:.2f}x" if other else "-"


HEAD = ("benchmark", "store", "Lianxin", "ceiling", "ratio", "vs reference", "CPU ms/order", "note")


def _cells(r: Row) -> tuple[str, ...]:
    return (r.benchmark, r.store, r.figure, r.ceiling, r.ratio, r.reference, r.cpu_ms, r.note)


def table(rows: Sequence[Row]) -> str:
    """The rows as a Markdown table (readable in a terminal, pasteable into the docs)."""
    head = HEAD
    lines = [head, *(_cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |"
        for line in lines
    ]
    out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)
