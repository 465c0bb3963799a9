"""An attempt's deadline: 3/4 of the lease by default, and always below the lease."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.domain.errors import ConfigError
from gateway.service.delivery.dispatcher import DispatchSettings
from gateway.settings import Settings


def test_the_deadline_defaults_to_three_quarters_of_the_lease() -> None:
    assert DispatchSettings(owner="t", lease_seconds=60).attempt_deadline == 45
    assert DispatchSettings(owner="t", lease_seconds=2).attempt_deadline == 1.5


def test_a_configured_deadline_is_used_as_it_is() -> None:
    settings = DispatchSettings(owner="t", lease_seconds=60, attempt_seconds=20)
    assert settings.attempt_deadline == 20


@pytest.mark.parametrize("seconds", [60.0, 61.0])
def test_a_deadline_at_or_past_the_lease_is_refused(seconds: float) -> None:
    with pytest.raises(ConfigError, match="must be above 0 and below the lease"):
        DispatchSettings(owner="t", lease_seconds=60, attempt_seconds=seconds)


def test_the_environment_cannot_set_a_deadline_at_or_past_the_lease(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LIANXIN_LEASE_SECONDS", "30")
    monkeypatch.setenv("LIANXIN_ATTEMPT_SECONDS", "30")
    refused = r"attempt_seconds \(30.0\) must be below lease_seconds \(30.0\)"
    with pytest.raises(ValidationError, match=refused):
        Settings()


def test_the_environment_sets_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIANXIN_ATTEMPT_SECONDS", "12.5")
    assert Settings().attempt_seconds == 12.5


def test_a_deadline_of_zero_is_refused() -> None:
    with pytest.raises(ValidationError, match="greater than 0"):
        Settings(attempt_seconds=0)
