"""Shape a work order into an agency's payload with the profile's field rules."""

from __future__ import annotations

from typing import Any

from gateway.domain.errors import Unmappable
from gateway.mapping.profiles import AgencyProfile, FieldRule


def render(profile: AgencyProfile, document: dict[str, Any]) -> dict[str, Any]:
    """The agency's view of `document`; the document itself when the profile maps nothing."""
    if not profile.payload:
        return document
    out: dict[str, Any] = {}
    for target, rule in profile.payload.items():
        value = _value(profile, rule, document, target)
        if value is not None:
            _put(out, target, value)
    return out


def _value(profile: AgencyProfile, rule: FieldRule, document: dict[str, Any], target: str) -> Any:
    if rule.source is None:
        return rule.const
    value = _get(document, rule.source)
    if value is None or rule.codes is None:
        return value
    table = profile.code_tables[rule.codes]
    if str(value) not in table:
        raise Unmappable(
            f"agency '{profile.id}': payload.{target}: code table '{rule.codes}' "
            f"has no entry for '{value}'"
        )
    return table[str(value)]


def _get(document: dict[str, Any], path: str) -> Any:
    node: Any = document
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _put(out: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = out
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
