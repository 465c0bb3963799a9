"""Read and validate the files under mappings/ once, at start-up.

Every problem becomes a MappingError that names the file, the entry and what is
wrong, so an integration admin can fix a file without reading code.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from gateway.domain.errors import MappingError
from gateway.mapping.calendar_files import YearCalendar, load_calendars
from gateway.mapping.profiles import (
    AgencyProfile,
    BilateralCatalogue,
    Catalogue,
    DeadlinePolicy,
    check_code_tables,
)

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Mappings:
    """The validated contents of one mappings/ directory."""

    agencies: dict[str, AgencyProfile]
    catalogue: Catalogue
    deadlines: tuple[DeadlinePolicy, ...] = ()
    calendars: dict[int, YearCalendar] = field(default_factory=dict)


def load_mappings(root: Path, catalogue_file: str, known_transports: Iterable[str]) -> Mappings:
    """Load agencies/*.toml and the named catalogue; raise MappingError on the first problem."""
    transports = sorted(known_transports)
    agencies: dict[str, AgencyProfile] = {}
    for path in sorted((root / "agencies").glob("*.toml")):
        profile = _parse(path, AgencyProfile)
        if profile.id in agencies:
            raise MappingError(f"{path}: agency id '{profile.id}' is defined twice")
        if profile.transport not in transports:
            raise MappingError(
                f"{path}: transport: unknown transport '{profile.transport}'"
                + suggestion(profile.transport, transports)
            )
        agencies[profile.id] = _complete(root, path, profile)
    if not agencies:
        raise MappingError(f"{root / 'agencies'}: no agency profiles (*.toml) found")
    catalogue_path = root / catalogue_file
    catalogue = _parse(catalogue_path, Catalogue)
    _check_rules(catalogue_path, catalogue, agencies)
    deadlines = load_deadlines(root)
    _check_origins(root, deadlines, agencies)
    return Mappings(
        agencies=agencies,
        catalogue=catalogue,
        deadlines=deadlines,
        calendars=load_calendars(root),
    )


def load_deadlines(root: Path) -> tuple[DeadlinePolicy, ...]:
    """Every deadlines/*.toml; exactly one of them (no divisions) is the default."""
    policies = tuple(
        _parse(path, DeadlinePolicy) for path in sorted((root / "deadlines").glob("*.toml"))
    )
    defaults = [p.id for p in policies if not p.divisions]
    if policies and len(defaults) != 1:
        raise MappingError(
            f"{root / 'deadlines'}: exactly one policy without divisions is the default; "
            f"found {defaults or 'none'}"
        )
    return policies


def _check_origins(
    root: Path, policies: tuple[DeadlinePolicy, ...], agencies: dict[str, AgencyProfile]
) -> None:
    for policy in policies:
        for origin in policy.origins:
            if origin not in agencies:
                raise MappingError(
                    f"{root / 'deadlines'}: policy '{policy.id}': origins: unknown agency "
                    f"'{origin}'" + suggestion(origin, agencies)
                )


def suggestion(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' when a close match exists, else the list of choices."""
    options = sorted(choices)
    close = difflib.get_close_matches(word, options, n=1)
    if close:
        return f" (did you mean '{close[0]}'?)"
    return f" (known: {', '.join(options)})"


def _parse(path: Path, model: type[M]) -> M:
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise MappingError(f"{path}: file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(file)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise MappingError(f"{path}: {where}: {first['msg']}{more}") from exc


def _check_rules(path: Path, catalogue: Catalogue, agencies: dict[str, AgencyProfile]) -> None:
    seen: set[str] = set()
    for index, rule in enumerate(catalogue.rules):
        entry = f"rules[{index}] (id '{rule.id}')"
        if rule.id in seen:
            raise MappingError(f"{path}: {entry}: rule id used twice")
        seen.add(rule.id)
        for agency in rule.agencies:
            if agency not in agencies:
                raise MappingError(
                    f"{path}: {entry}: unknown agency '{agency}'" + suggestion(agency, agencies)
                )


def _complete(root: Path, path: Path, profile: AgencyProfile) -> AgencyProfile:
    """Add the bilateral catalogue's code tables and check every file the profile names."""
    if profile.bilateral:
        bilateral = _parse(root / profile.bilateral, BilateralCatalogue)
        tables = {**profile.code_tables, **bilateral_tables(root / profile.bilateral, bilateral)}
        profile = profile.model_copy(update={"code_tables": tables})
    try:
        check_code_tables(profile)
    except ValueError as exc:
        raise MappingError(f"{path}: {exc}") from exc
    if profile.soap is not None:
        for name in (profile.soap.wsdl, profile.soap.inbound_wsdl):
            if name and not (root / name).is_file():
                raise MappingError(f"{path}: soap: WSDL file '{name}' not found under {root}")
    return profile


def bilateral_tables(path: Path, catalogue: BilateralCatalogue) -> dict[str, dict[str, str]]:
    """Code tables both ways: our matter code → theirs, and their code → our matter/category."""
    _unique(path, "to_partner", [i.matter_code for i in catalogue.to_partner], "matter_code")
    _unique(path, "to_partner", [i.partner_code for i in catalogue.to_partner], "partner_code")
    _unique(path, "to_hotline", [i.partner_code for i in catalogue.to_hotline], "partner_code")
    outbound, inbound = catalogue.to_partner, catalogue.to_hotline
    return {
        "to_partner": {i.matter_code: i.partner_code for i in outbound},
        "to_partner_name": {i.matter_code: i.partner_name for i in outbound},
        "from_partner": {i.partner_code: i.matter_code for i in inbound},
        "from_partner_category": {i.partner_code: i.category.value for i in inbound},
        "from_partner_name": {i.partner_code: i.partner_name for i in inbound},
    }


def _unique(path: Path, section: str, values: list[str], field: str) -> None:
    seen: set[str] = set()
    for index, value in enumerate(values):
        if value in seen:
            raise MappingError(f"{path}: {section}[{index}]: {field} '{value}' appears twice")
        seen.add(value)
