"""Deadline policies: time zone, card tiers and origins are checked at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

import connectors
from gateway.domain.errors import MappingError
from gateway.mapping.loader import load_mappings
from gateway.mapping.profiles import DeadlinePolicy
from tests.integration.api.helpers import mappings_copy

LIMITS = dict.fromkeys(("consult", "help", "complaint", "report", "suggestion"), 3)


def policy(**changes: Any) -> DeadlinePolicy:
    base: dict[str, Any] = {
        "id": "p",
        "acknowledge_minutes": 60,
        "resolve_working_days": LIMITS,
    }
    return DeadlinePolicy.model_validate({**base, **changes})


def test_without_cards_a_policy_has_a_yellow_warning_and_a_red_overdue_card() -> None:
    tiers = policy(yellow_at=0.5).card_tiers()
    assert [(t.tier, t.colour, t.at) for t in tiers] == [
        ("warning", "yellow", 0.5),
        ("overdue", "red", None),
    ]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"time_zone": "Asia/Beijing"}, "unknown time zone 'Asia/Beijing'"),
        (
            {"cards": [{"tier": "overdue", "name": "黄牌", "colour": "yellow", "at": 0.5}]},
            "'at' is given with the warning tier, and only with it",
        ),
        (
            {"cards": [{"tier": "seriously_overdue", "name": "红牌", "colour": "red"}]},
            "'after_working_days' is given with seriously_overdue",
        ),
        (
            {
                "cards": [
                    {"tier": "overdue", "name": "黄牌", "colour": "yellow"},
                    {
                        "tier": "seriously_overdue",
                        "name": "红牌",
                        "colour": "yellow",
                        "after_working_days": 3,
                    },
                ]
            },
            "colour 'yellow' is used by two cards",
        ),
        (
            {"origins": {"police-110": {"resolve_working_days": {"consult": 1}}}},
            "origins.police-110: no limit for complaint, help, report, suggestion",
        ),
    ],
)
def test_a_policy_that_cannot_work_is_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        policy(**changes)
    assert message in str(caught.value)


def test_an_origin_limits_the_orders_it_transfers_and_others_keep_the_policys() -> None:
    limits = {**LIMITS, "complaint": 5}
    foshan = policy(
        origins={"police-110": {"acknowledge_minutes": 30, "resolve_working_days": limits}}
    )
    assert foshan.limits_for("police-110") == (30, limits)
    assert foshan.limits_for("portal-mayor-mailbox") == (60, LIMITS)


def test_an_origin_that_names_no_known_agency_stops_start_up(tmp_path: Path) -> None:
    root = mappings_copy(
        tmp_path, {"deadlines/default.toml": ("[origins.police-110]", "[origins.police-119]")}
    )
    with pytest.raises(MappingError) as caught:
        load_mappings(root, "routing/catalogue.toml", connectors.TRANSPORTS)
    assert "policy 'default': origins: unknown agency 'police-119'" in str(caught.value)
