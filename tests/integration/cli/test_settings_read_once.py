"""A verb that opens the database and the mappings reads the settings once."""

from __future__ import annotations

from pathlib import Path

import pytest

import gateway.settings
from gateway.cli import main


def test_the_health_table_reads_the_settings_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made: list[gateway.settings.Settings] = []
    real = gateway.settings.Settings
    monkeypatch.setattr(gateway.settings, "Settings", lambda: made.append(real()) or made[-1])
    monkeypatch.setenv("LIANXIN_DATABASE_URL", f"sqlite:///{tmp_path / 'lianxin.db'}")
    assert main(["agencies", "--json"]) == 0
    assert '"agency": "hotline"' in capsys.readouterr().out
    assert len(made) == 1
