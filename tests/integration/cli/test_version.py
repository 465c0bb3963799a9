"""`lianxin --version` prints the installed package's version."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version


def test_version_prints_the_installed_package_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"lianxin {version('lianxin')}\n"
    assert version("lianxin").count(".") >= 1
