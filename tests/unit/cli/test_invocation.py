"""One `lianxin` invocation reads its settings at most once, and only when a verb needs them."""

from __future__ import annotations

import pytest

import gateway.settings
from gateway.cli import main
from gateway.cli.invocation import Invocation


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[gateway.settings.Settings]:
    """Every Settings read from the environment, in order."""
    made: list[gateway.settings.Settings] = []
    real = gateway.settings.Settings

    def counted() -> gateway.settings.Settings:
        made.append(real())
        return made[-1]

    monkeypatch.setattr(gateway.settings, "Settings", counted)
    return made


def test_an_invocation_reads_the_settings_once_whatever_its_verb_opens(
    reads: list[gateway.settings.Settings],
) -> None:
    invocation = Invocation()
    first = invocation.tools()
    other = invocation.tools(database_url="sqlite:///elsewhere.db")
    assert invocation.settings is first.settings
    assert other.settings.database_url == "sqlite:///elsewhere.db"
    assert len(reads) == 1


def test_a_flag_left_unset_keeps_the_settings_value(
    reads: list[gateway.settings.Settings],
) -> None:
    invocation = Invocation()
    assert invocation.tools(database_url=None).settings is invocation.settings


def test_a_verb_that_needs_no_settings_never_reads_them(
    reads: list[gateway.settings.Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["data-key"]) == 0
    assert capsys.readouterr().out.startswith("lxdk_")
    assert reads == []
