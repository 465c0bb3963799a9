"""`lianxin calendar`: which years the working-day calendar covers, and where it stops.

It reads the calendar files under the mappings directory (LIANXIN_MAPPINGS_DIR, or
--mappings) and the installed `chinesecalendar` release, validating the files as the
gateway does at start-up. A provisional year (derived from the statutory rules, the State
Council's notice not yet entered) and the next year nothing covers are named, so an
operator knows what to enter before deadlines run into it.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.cli.invocation import Invocation
from gateway.domain.errors import ConfigError

if TYPE_CHECKING:
    from gateway.mapping.calendars import YearCoverage


def add_verbs(verbs: Any) -> None:
    """Register `lianxin calendar`."""
    calendar = verbs.add_parser(
        "calendar", help="years the working-day calendar covers, provisional years, next gap"
    )
    calendar.add_argument(
        "--mappings", type=Path, metavar="DIR", help="default: LIANXIN_MAPPINGS_DIR"
    )
    calendar.add_argument("--json", action="store_true", help="one JSON object, for machines")
    calendar.add_argument(
        "--today", type=date.fromisoformat, metavar="YYYY-MM-DD", help="default: today"
    )
    calendar.set_defaults(run=run_calendar)


def run_calendar(args: argparse.Namespace, invocation: Invocation) -> int:
    """Print the coverage; 0 whatever it finds (a gap is information, not a failure)."""
    from gateway.bootstrap import Tools

    root = args.mappings or invocation.settings.mappings_dir
    if not root.is_dir():
        raise ConfigError(f"{root}: no such mappings directory")
    calendar = Tools.workdays(root)
    today = args.today or date.today()
    coverage = calendar.coverage()
    gap = calendar.next_gap(today.year)
    provisional = [c.year for c in coverage if c.provisional]
    if args.json:
        print(json.dumps(_report(coverage, provisional, gap), ensure_ascii=False, indent=2))
        return 0
    for line in _lines(coverage, provisional, gap):
        print(line)
    return 0


def _report(coverage: list[YearCoverage], provisional: list[int], gap: int) -> dict[str, Any]:
    return {
        "years": [
            {"year": c.year, "source": c.source, "provisional": c.provisional, "detail": c.detail}
            for c in coverage
        ],
        "provisional": provisional,
        "next_gap": gap,
    }


def _lines(coverage: list[YearCoverage], provisional: list[int], gap: int) -> list[str]:
    package = [c.year for c in coverage if c.source == "chinesecalendar"]
    lines = []
    if package:
        lines.append(f"{min(package)}–{max(package)}  chinesecalendar package")
    for entry in coverage:
        if entry.source == "file":
            state = "PROVISIONAL" if entry.provisional else "official"
            lines.append(f"{entry.year}       file ({state}): {entry.detail}")
    if provisional:
        years = ", ".join(str(y) for y in provisional)
        lines.append(f"provisional: {years} (enter the State Council's notice: docs/deadlines.md)")
    lines.append(f"next gap: {gap} (no calendar: deadlines there count Monday to Friday)")
    return lines
