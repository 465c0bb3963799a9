from __future__ import annotations

import subprocess
import sys
from pathlib import Path

COMPOSE = Path(__file__).parents[2] / "compose.yaml"


def test_compose_yaml_follows_the_compose_specification() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
