"""Rate limits are configured per role and per agency, and a bad one stops start-up."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.api.rate_limits import DEFAULT_LIMITS, parse_limits
from gateway.settings import Settings


def test_configured_limits_override_the_defaults_and_none_lifts_one() -> None:
    limits = parse_limits({"agency:tax-12366": "50/second", "anonymous": "none"})
    assert limits["anonymous"] is None
    assert str(limits["agency:tax-12366"]) == "50 per 1 second"
    assert set(DEFAULT_LIMITS) <= set(limits)


@pytest.mark.parametrize(
    ("limits", "named"),
    [({"anonymus": "5/minute"}, "anonymus"), ({"hotline": "lots"}, "'lots'")],
)
def test_a_bad_key_or_value_is_refused_with_its_name(limits: dict[str, str], named: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(rate_limits=limits)
    assert named in str(refused.value)
