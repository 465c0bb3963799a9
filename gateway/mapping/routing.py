"""Choose the agencies for a work order from the versioned catalogue."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from gateway.domain.errors import NoRoute, UnknownAgency
from gateway.domain.workorder import WorkOrderIn
from gateway.mapping.loader import suggestion
from gateway.mapping.profiles import Catalogue, Rule


@dataclass(frozen=True)
class Route:
    """Where an order goes: the lead agency (主办) first, then any assisting (协办)."""

    agencies: tuple[str, ...]
    rule_id: str
    catalogue_version: str
    lead_waits_for_assisting: bool = False

    @property
    def lead(self) -> str:
        """The agency whose updates drive the order's status."""
        return self.agencies[0]


def route(order: WorkOrderIn, catalogue: Catalogue, known: Collection[str]) -> Route:
    """The operator's explicit choice if given, else the first catalogue rule that matches."""
    if order.route_to:
        for agency in order.route_to:
            if agency not in known:
                raise UnknownAgency(
                    f"route_to names unknown agency '{agency}'" + suggestion(agency, known),
                    agency=agency,
                )
        chosen = tuple(dict.fromkeys(order.route_to))
        return Route(chosen, "route_to", catalogue.version)
    for rule in catalogue.rules:
        if matches(rule, order):
            waits = rule.lead_waits_for_assisting
            return Route(rule.agencies, rule.id, catalogue.version, waits)
    raise NoRoute(
        f"no rule in catalogue {catalogue.version} matches this order; "
        "add a rule under mappings/routing/ or name agencies in route_to",
        category=order.category.value,
        matter_code=order.matter_code,
    )


def matches(rule: Rule, order: WorkOrderIn) -> bool:
    """True when every criterion the rule gives is met by the order (checked in turn, the
    first unmet one ends it: intake tries the catalogue's rules one by one)."""
    if rule.categories and order.category not in rule.categories:
        return False
    if rule.urgency and order.urgency not in rule.urgency:
        return False
    if rule.matter_codes and not _code_matches(rule.matter_codes, order.matter_code):
        return False
    if rule.divisions:
        division = order.location.division_code if order.location else ""
        if not any(division.startswith(p) for p in rule.divisions):
            return False
    if rule.keywords:
        text = f"{order.title}\n{order.content}"
        return any(word in text for word in rule.keywords)
    return True


def _code_matches(patterns: tuple[str, ...], code: str | None) -> bool:
    if code is None:
        return False
    return any(code.startswith(p[:-1]) if p.endswith("*") else code == p for p in patterns)
