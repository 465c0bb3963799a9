from __future__ import annotations

from typing import Any

import pytest

from gateway.domain.errors import NoRoute, UnknownAgency
from gateway.domain.workorder import WorkOrderIn
from gateway.mapping.profiles import Catalogue
from gateway.mapping.routing import route

CATALOGUE = Catalogue.model_validate(
    {
        "version": "t-1",
        "rules": [
            {"id": "tax-code", "agencies": ["tax"], "matter_codes": ["TAX-*"]},
            {
                "id": "noise-tianhe",
                "agencies": ["city", "env"],
                "keywords": ["噪音"],
                "divisions": ["440106"],
                "categories": ["complaint"],
            },
            {
                "id": "urgent-gas",
                "agencies": ["gas"],
                "urgency": ["urgent", "emergency"],
                "keywords": ["燃气"],
            },
        ],
    }
)
KNOWN = {"tax", "city", "env", "gas"}


def order(**changes: Any) -> WorkOrderIn:
    base: dict[str, Any] = {
        "flow_id": "F1",
        "acceptance_no": "A1",
        "category": "complaint",
        "title": "标题",
        "content": "内容",
        "received_at": "2026-11-24T08:00:00+08:00",
    }
    return WorkOrderIn.model_validate({**base, **changes})


def test_a_matter_code_prefix_routes_to_its_agency() -> None:
    chosen = route(order(matter_code="TAX-0102"), CATALOGUE, KNOWN)
    assert (chosen.agencies, chosen.rule_id, chosen.catalogue_version) == (
        ("tax",),
        "tax-code",
        "t-1",
    )


def test_all_criteria_of_a_rule_must_match() -> None:
    located = {"address": "天河", "division_code": "440106"}
    chosen = route(order(content="夜间噪音", location=located), CATALOGUE, KNOWN)
    assert chosen.lead == "city" and chosen.agencies == ("city", "env")
    elsewhere = {"address": "越秀", "division_code": "440104"}
    with pytest.raises(NoRoute):
        route(order(content="夜间噪音", location=elsewhere), CATALOGUE, KNOWN)


def test_urgency_is_a_criterion() -> None:
    with pytest.raises(NoRoute):
        route(order(content="燃气味道", urgency="normal"), CATALOGUE, KNOWN)
    assert route(order(content="燃气味道", urgency="urgent"), CATALOGUE, KNOWN).lead == "gas"


def test_route_to_overrides_the_catalogue() -> None:
    chosen = route(order(matter_code="TAX-1", route_to=["env", "env", "city"]), CATALOGUE, KNOWN)
    assert chosen.agencies == ("env", "city") and chosen.rule_id == "route_to"


def test_route_to_an_unknown_agency_suggests_the_closest_name() -> None:
    with pytest.raises(UnknownAgency, match="did you mean 'city'"):
        route(order(route_to=["cty"]), CATALOGUE, KNOWN)
