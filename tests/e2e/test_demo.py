"""`lianxin demo` as a new user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_the_demo_passes_and_keeps_its_files_when_asked(tmp_path: Path) -> None:
    keep = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "demo", "--keep", str(keep)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
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
