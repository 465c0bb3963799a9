"""The 12345 ↔ 110 bilateral catalogue: every item maps to a 110 code and back."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from connectors import TRANSPORTS
from gateway.domain.errors import MappingError
from gateway.mapping.loader import bilateral_tables, load_mappings
from gateway.mapping.profiles import BilateralCatalogue

MAPPINGS = Path(__file__).parents[3] / "mappings"
FILE = MAPPINGS / "catalogues" / "police110-bilateral.toml"


def catalogue() -> BilateralCatalogue:
    return BilateralCatalogue.model_validate(tomllib.loads(FILE.read_text(encoding="utf-8")))


def test_every_item_12345_sends_maps_to_a_110_code_and_back() -> None:
    police = load_mappings(MAPPINGS, "routing/catalogue.toml", TRANSPORTS)
    tables = police.agencies["police-110"].code_tables
    back = {code: matter for matter, code in tables["to_partner"].items()}
    for item in catalogue().to_partner:
        code = tables["to_partner"][item.matter_code]
        assert code == item.partner_code and back[code] == item.matter_code
        assert tables["to_partner_name"][item.matter_code] == item.partner_name


def test_every_item_110_sends_maps_to_our_matter_and_back() -> None:
    tables = bilateral_tables(FILE, catalogue())
    forth = {matter: code for code, matter in tables["from_partner"].items()}
    for item in catalogue().to_hotline:
        matter = tables["from_partner"][item.partner_code]
        assert matter == item.matter_code and forth[matter] == item.partner_code
        assert tables["from_partner_category"][item.partner_code] == item.category.value


def test_every_police_matter_code_is_routed_to_110() -> None:
    from gateway.domain.workorder import WorkOrderIn
    from gateway.mapping.routing import route

    mappings = load_mappings(MAPPINGS, "routing/catalogue.toml", TRANSPORTS)
    known = set(mappings.agencies) - {"hotline"}
    for item in catalogue().to_partner:
        order = WorkOrderIn(
            flow_id="F",
            acceptance_no="A",
            category=item.category,
            matter_code=item.matter_code,
            title=item.item,
            content=item.item,
            received_at="2026-11-24T08:00:00+08:00",
        )  # type: ignore[arg-type]
        assert route(order, mappings.catalogue, known).lead == "police-110", item.matter_code


def test_a_code_used_twice_is_refused() -> None:
    data = catalogue()
    twice = data.model_copy(update={"to_partner": (*data.to_partner, data.to_partner[0])})
    with pytest.raises(MappingError, match="matter_code 'GA-0101' appears twice"):
        bilateral_tables(FILE, twice)
