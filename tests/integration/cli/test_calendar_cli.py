"""`lianxin calendar`, and a broken calendar file stopping `lianxin serve` at start-up."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.settings import REPO_ROOT


def lianxin(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **env},
    )


def test_calendar_shows_the_years_covered_the_provisional_ones_and_the_next_gap() -> None:
    result = lianxin("calendar", "--today", "2026-12-07")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "2004–2025  chinesecalendar package"
    assert lines[1].startswith("2026       file (official): 国务院办公厅关于2026年部分节假日安排")
    assert lines[2].startswith("2027       file (PROVISIONAL): derived from the statutory rules")
    assert lines[-2] == "provisional: 2027 (enter the State Council's notice: docs/deadlines.md)"
    assert lines[-1] == "next gap: 2028 (no calendar: deadlines there count Monday to Friday)"


@pytest.mark.slow
def test_calendar_as_json_for_machines(tmp_path: Path) -> None:
    mappings = tmp_path / "mappings"
    shutil.copytree(REPO_ROOT / "mappings", mappings)
    (mappings / "calendars" / "2027.toml").unlink()
    result = lianxin(
        "calendar", "--json", "--today", "2026-12-07", LIANXIN_MAPPINGS_DIR=str(mappings)
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["provisional"], report["next_gap"]) == ([], 2027)
    assert report["years"][-1] == {
        "year": 2026,
        "source": "file",
        "provisional": False,
        "detail": "国务院办公厅关于2026年部分节假日安排的通知（via chinesecalendar 1.11.0）",
    }


@pytest.mark.slow
def test_a_broken_calendar_file_is_named_and_serve_does_not_start(tmp_path: Path) -> None:
    mappings = tmp_path / "mappings"
    shutil.copytree(REPO_ROOT / "mappings", mappings)
    path = mappings / "calendars" / "2027.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("last = 2027-02-10", "last = 2027-02-01"), encoding="utf-8")
    shown = lianxin("calendar", "--mappings", str(mappings))
    served = lianxin(
        "serve",
        "--open-api",  # past the token check, to the mappings
        "--port",
        "1",
        LIANXIN_MAPPINGS_DIR=str(mappings),
        LIANXIN_DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}",
        LIANXIN_HOTLINE_CALLBACK_URL="http://127.0.0.1:9/cb",
    )
    problem = "2027.toml: holidays.1: '春节': last (2027-02-01) is before first (2027-02-05)"
    assert (shown.returncode, served.returncode) == (2, 2)
    assert problem in shown.stderr and problem in served.stderr
