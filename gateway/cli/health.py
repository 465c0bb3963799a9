"""`lianxin agencies`: every agency's delivery health as a table (or JSON), from the database.

It reads the database a gateway uses (LIANXIN_DATABASE_URL), so it works with no gateway
running. Circuit breakers live inside each serving process and are never stored: the
circuit column says "n/a" here; `GET /v1/admin/agencies` and `/metrics` show them.
"""

from __future__ import annotations

import argparse
import json
import re
import time
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from gateway.cli.invocation import Invocation
from gateway.domain.errors import InputError

if TYPE_CHECKING:  # the service layer loads only when the verb runs
    from gateway.service.ports.store import UnitOfWork
    from gateway.service.views.health import AgencyHealth

NOT_HERE = "n/a"  # circuits exist only inside serving processes
TITLE_NOTE = "circuit n/a: breakers live in each gateway process"
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0}
_HEADERS = (
    "agency",
    "name",
    "delivered",
    "failed",
    "success",
    "p50",
    "p99",
    "backlog",
    "dead",
    "returned",
    "circuit",
    "state",
    "last error",
)
_RIGHT = {"delivered", "failed", "success", "p50", "p99", "backlog", "dead", "returned"}


def add_options(agencies: argparse.ArgumentParser) -> None:
    """Make `lianxin agencies` with no sub-verb print the health table."""
    agencies.description = (
        "Without a sub-verb: every agency's deliveries over a recent window (delivered, "
        "dead-lettered, success rate, p50/p99 latency), backlog, dead letters, returns "
        "(退回), paused or disabled, last error; read from LIANXIN_DATABASE_URL. The "
        "circuit column shows n/a: circuit breakers live inside each serving gateway "
        "process and are never stored (GET /v1/admin/agencies shows them)."
    )
    agencies.add_argument(
        "--window", default="1h", metavar="SPAN", help="e.g. 900, 15m, 1h, 1d (default 1h)"
    )
    agencies.add_argument("--json", action="store_true", help="a JSON list, for machines")
    agencies.set_defaults(run=run_health)


def run_health(args: argparse.Namespace, invocation: Invocation) -> int:
    """Print every agency's health over the window."""
    from gateway.service.views.health import as_record, read_health

    window = parse_window(args.window)
    with invocation.opened() as (store, directory):
        circuits = dict.fromkeys(directory.profiles, NOT_HERE)
        now = time.time()

        def read(uow: UnitOfWork) -> list[AgencyHealth]:
            return read_health(uow, directory, circuits, now, window)

        rows = store.run_sync(read, writes=False)
    if args.json:
        print(json.dumps([as_record(r) for r in rows], ensure_ascii=False, indent=2))
    else:
        print("\n".join(table(rows, window)))
    return 0


def parse_window(text: str) -> float:
    """Seconds in `text`: a number, optionally with s, m, h or d."""
    from gateway.service.views.health import check_window

    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if found is None:
        raise InputError(f"--window '{text}' is not a span like 900, 15m, 1h or 1d")
    seconds = float(found[1]) * _UNITS[found[2] or "s"]
    check_window(seconds)
    return seconds


def table(rows: Sequence[AgencyHealth], window: float) -> list[str]:
    """The aligned lines of the table, a title line first (wide characters count double)."""
    cells = [_HEADERS, *(_cells(r) for r in rows)]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(_HEADERS))]
    lines = [f"agency health over the last {_span(window)} ({TITLE_NOTE})"]
    for row in cells:
        padded = (
            _pad(text, w, name in _RIGHT)
            for text, w, name in zip(row, widths, _HEADERS, strict=True)
        )
        lines.append("  ".join(padded).rstrip())
    return lines


def _cells(h: AgencyHealth) -> tuple[str, ...]:
    state = "disabled" if h.disabled else "paused" if h.paused else "active"
    error = "" if h.last_error is None else f"{_when(h.last_error_at)} {h.last_error[:60]}"
    rate = "-" if h.success_rate is None else f"{h.success_rate * 100:.1f}%"
    return (
        h.agency,
        h.display_name,
        str(h.delivered),
        str(h.failed),
        rate,
        _ms(h.p50_ms),
        _ms(h.p99_ms),
        str(h.backlog),
        str(h.dead),
        str(h.returned),
        h.circuit,
        state,
        error,
    )


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 1000:
        return f"{value:.0f}ms"
    if value < 60_000:
        return f"{value / 1000:.1f}s"
    return f"{value / 60_000:.1f}min"


def _span(seconds: float) -> str:
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:g}s"


def _when(at: float | None) -> str:
    return "" if at is None else datetime.fromtimestamp(at, UTC).strftime("%H:%M:%SZ")


def _width(text: str) -> int:
    """Terminal columns: CJK (wide and full-width) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool) -> str:
    space = " " * (width - _width(text))
    return space + text if right else text + space
