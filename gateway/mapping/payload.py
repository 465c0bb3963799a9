"""Shape documents with field rules: a work order into an agency's payload, and back."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from gateway.domain.errors import Unmappable
from gateway.mapping.profiles import AgencyProfile, FieldRule


def render(profile: AgencyProfile, document: dict[str, Any]) -> dict[str, Any]:
    """The agency's view of `document`; the document itself when the profile maps nothing."""
    if not profile.payload:
        return document
    return render_fields(profile.payload, profile.code_tables, document, f"{profile.id}: payload")


def render_fields(
    rules: dict[str, FieldRule],
    tables: dict[str, dict[str, str]],
    document: dict[str, Any],
    where: str,
) -> dict[str, Any]:
    """A new document with one entry per rule (entries whose value is missing are left out)."""
    out: dict[str, Any] = {}
    blanked = _Blanked(document)
    for target, rule in rules.items():
        value = _value(rule, tables, document, blanked, where, target)
        if value is not None:
            _put(out, target, value)
    return out


def _value(
    rule: FieldRule,
    tables: dict[str, dict[str, str]],
    document: dict[str, Any],
    blanked: _Blanked,
    where: str,
    target: str,
) -> Any:
    if rule.template is not None:
        return rule.template.format_map(blanked.values()).strip("；; ") or None
    if rule.source is None:
        return rule.const
    value = get_path(document, rule.source)
    if rule.codes is None:
        return value
    table = tables[rule.codes]
    if value is None or str(value) not in table:
        if rule.otherwise is not None or value is None:
            return rule.otherwise
        raise Unmappable(f"{where}.{target}: code table '{rule.codes}' has no entry for '{value}'")
    return table[str(value)]


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


class _Blanked:
    """The document's top-level values for templates (None as ""), made on first use."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self._values: _Blank | None = None

    def values(self) -> _Blank:
        if self._values is None:
            self._values = _Blank({k: "" if v is None else v for k, v in self.document.items()})
        return self._values


@lru_cache(maxsize=4096)
def _parts(path: str) -> tuple[str, ...]:
    """A dotted path's parts (the profiles' paths are few: split once each)."""
    return tuple(path.split("."))


def get_path(document: dict[str, Any], path: str) -> Any:
    """The value at a dotted path, or None."""
    node: Any = document
    for part in _parts(path):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _put(out: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = _parts(path)
    node = out
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
