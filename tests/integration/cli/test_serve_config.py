"""`lianxin serve` refuses a bad configuration with one clear line, before serving."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def serve(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "LIANXIN_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", **env}
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", "serve", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=environment,
    )


def test_a_missing_hotline_callback_is_named(tmp_path: Path) -> None:
    result = serve(tmp_path)
    assert result.returncode == 2
    assert "LIANXIN_HOTLINE_CALLBACK_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_malformed_json_in_a_setting_is_named(tmp_path: Path) -> None:
    result = serve(tmp_path, LIANXIN_AGENCY_ENDPOINTS="{bad")
    assert result.returncode == 2
    assert "agency_endpoints" in result.stderr and "Traceback" not in result.stderr


def test_a_broken_mapping_file_is_named(tmp_path: Path) -> None:
    mappings = tmp_path / "mappings"
    (mappings / "agencies").mkdir(parents=True)
    (mappings / "routing").mkdir()
    (mappings / "agencies" / "hotline.toml").write_text(
        'id = "hotline"\nname = "12345"\ntransport = "rest"\nconcurency = 4\n', encoding="utf-8"
    )
    result = serve(
        tmp_path,
        LIANXIN_MAPPINGS_DIR=str(mappings),
        LIANXIN_HOTLINE_CALLBACK_URL="http://127.0.0.1:9/cb",
    )
    assert result.returncode == 2
    assert "hotline.toml: concurency: Extra inputs are not permitted" in result.stderr
