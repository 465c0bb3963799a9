"""`lianxin demo` as a new user runs it, run once for the module (it takes a while): it
passes, keeps its files when asked, and leaves no caller's phone number or name in clear:
not in its log, not on its console, not in the bytes of its SQLite database (WAL included).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.world.orders import DEMO_ORDERS, EMERGENCY_ORDERS, MAYOR_LETTER, UTILITY_ORDERS

pytestmark = [pytest.mark.xdist_group("demo"), pytest.mark.slow]  # one worker: the demo runs once

POLICE_CALLER_PHONE = "13811112222"  # BJDH of the 双非 case the simulated 110 pushes
CALLERS = [o["caller"] for o in DEMO_ORDERS + EMERGENCY_ORDERS + UTILITY_ORDERS]
PHONES = [c["phone"] for c in CALLERS] + [MAYOR_LETTER["dh"], POLICE_CALLER_PHONE]
NAMES = [c["name"] for c in CALLERS if "name" in c] + [MAYOR_LETTER["xm"]]


@dataclass
class DemoRun:
    result: subprocess.CompletedProcess[str]
    keep: Path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """One `lianxin demo --keep DIR` for the tests of this module."""
    keep = tmp_path_factory.mktemp("demo") / "kept"
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "demo", "--keep", str(keep)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return DemoRun(result, keep)


def test_the_demo_passes_and_keeps_its_files_when_asked(demo: DemoRun) -> None:
    result, keep = demo.result, demo.keep
    assert "demo passed" in result.stdout
    assert "audit chain" in result.stdout and "verified" in result.stdout
    assert (keep / "lianxin.db").exists() and (keep / "lianxin.log").exists()
    verify = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "audit",
            "verify",
            "--database",
            f"sqlite:///{keep / 'lianxin.db'}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert verify.returncode == 0, verify.stderr
    assert "verified offline" in result.stdout and (keep / "witness.jsonl").exists()
    witnessed = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "audit",
            "verify",
            "--database",
            f"sqlite:///{keep / 'lianxin.db'}",
            "--witness",
            str(keep / "witness.jsonl"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert witnessed.returncode == 0, witnessed.stderr
    bundles = list(keep.glob("evidence-*.json"))
    assert len(bundles) == 1
    offline = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "evidence", "verify", str(bundles[0])],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert offline.returncode == 0, offline.stderr


def test_the_demo_keeps_every_callers_phone_and_name_out_of_its_log_console_and_database(
    demo: DemoRun,
) -> None:
    result, keep = demo.result, demo.keep
    log = (keep / "lianxin.log").read_text(encoding="utf-8")
    console = result.stdout + result.stderr
    database = b"".join(path.read_bytes() for path in sorted(keep.glob("lianxin.db*")))
    assert len(PHONES) >= 10 and log and database
    for phone in PHONES:
        assert phone not in log, f"{phone} in the log"
        assert phone not in console, f"{phone} on the console"
        assert phone.encode() not in database, f"{phone} in the database"
    for name in NAMES:
        assert name not in log and name not in console, f"{name} in the log or console"
        assert name.encode() not in database, f"{name} in the database"
