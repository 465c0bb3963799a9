"""The fast canonical JSON is json's text, byte for byte, for every value (or the same error).

Audit hashes and payload digests in existing databases were computed over
`json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`: the orjson path
may only answer where its text is that one, and must hand everything else to json.
"""

from __future__ import annotations

import enum
import json
import math
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gateway.domain.audit import AuditKind
from gateway.service.json_codec import canonical_json, compact_json, reference_canonical_json


class Colour(enum.StrEnum):
    red = "红"


class Level(enum.IntEnum):
    high = 3


NASTY_TEXT = ["", '"', "\\", "\u2028", "\x7f", "\x85", "\ufeff", "\ud800", "null", "1.5", "2e5"]
NASTY_TEXT += [":1.5,", "[2e5]", "T08:05:40.25+08:00", '","a":1.5}', '\\",1.5]']
any_char = st.characters(exclude_categories=())  # lone surrogates too
text = st.one_of(st.sampled_from(NASTY_TEXT), st.text(), st.text(any_char, max_size=8))
floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e16, 1e-5, 1e-7, 1e22, 123456789012345.6, -0.0, 5e-324, 0.1]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),  # past 64 bits: orjson refuses
    st.integers(min_value=-(2**200), max_value=2**200),
    floats,
    text,
    st.sampled_from([Colour.red, Level.high, AuditKind.received]),
)
keys = st.one_of(text, st.sampled_from(["a", "B", "é", "中", "😀", "\uffff"]))
odd_keys = st.one_of(st.integers(), st.booleans(), st.none(), floats)  # json converts these
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(keys, inner, max_size=5),
        st.dictionaries(st.one_of(keys, odd_keys), inner, max_size=3),
    ),
    max_leaves=25,
)


def outcome(encode: Any, value: Any) -> str | type[Exception]:
    try:
        return str(encode(value))
    except (TypeError, ValueError) as exc:
        return type(exc)


@settings(max_examples=3000, deadline=None)
@given(values)
@example({"coordinates": {"longitude": 113.2665, "latitude": 23.1322}, "note": None})
@example({"b": [1, 2.5, "x"], "a": {"ms": 1e-05, "n": 2**63}})
@example({1: "int key", "1": "text key"})
@example([math.nan, math.inf, -math.inf])
@example([1e-05, {"a": -1e-07}, [2.5e-08]])
@example(1e-05)
@example({"received_at": "2026-11-24T08:05:40.123456+08:00", "n": [1, 2]})
def test_canonical_json_is_the_reference_text(value: Any) -> None:
    assert outcome(canonical_json, value) == outcome(reference_canonical_json, value)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(keys, st.one_of(st.none(), st.booleans(), st.integers(), text)))
def test_values_without_floats_or_null_take_the_fast_path_and_match(value: Any) -> None:
    """Not a tautology of the fallback: on these shapes the answer is orjson's own."""
    assert canonical_json(value) == reference_canonical_json(value)


finite_floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e16, 1e-5, 1e-7, 1e22, 123456789012345.6, -0.0, 5e-324, 0.1]),
)
finite_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), finite_floats, text),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)),
    max_leaves=25,
)


@settings(max_examples=2000, deadline=None)
@given(finite_values)
@example({"matter_code": None, "due": {"reply_by": None}, "longitude": 113.2665, "tiny": 1e-05})
def test_canonical_json_of_finite_values_is_the_reference_text(value: Any) -> None:
    """`finite=True` (the caller vouches: no NaN, no infinity) keeps json's text too."""
    assert outcome(lambda v: canonical_json(v, finite=True), value) == outcome(
        reference_canonical_json, value
    )


def test_an_order_with_timestamps_is_answered_by_orjson(monkeypatch: Any) -> None:
    """A time with a fraction of a second inside a string is no float: no fallback."""

    def refuse(*args: Any, **kwargs: Any) -> str:
        raise AssertionError("fell back to json")

    monkeypatch.setattr("gateway.service.json_codec.reference_canonical_json", refuse)
    value = {"received_at": "2026-11-24T08:05:40.123456+08:00", "due": ["1.5e3 天"]}
    assert canonical_json(value) == (
        '{"due":["1.5e3 天"],"received_at":"2026-11-24T08:05:40.123456+08:00"}'
    )


def test_a_finite_value_with_nulls_is_answered_by_orjson(monkeypatch: Any) -> None:
    """What `finite` is for: a work order's dump is full of nulls, and stays on orjson."""

    def refuse(*args: Any, **kwargs: Any) -> str:
        raise AssertionError("fell back to json")

    monkeypatch.setattr("gateway.service.json_codec.reference_canonical_json", refuse)
    value = {"matter_code": None, "route_to": None, "revision": 1, "title": "噪音"}
    assert canonical_json(value, finite=True) == (
        '{"matter_code":null,"revision":1,"route_to":null,"title":"噪音"}'
    )


def test_usual_audit_details_are_answered_by_orjson(monkeypatch: Any) -> None:
    def refuse(*args: Any, **kwargs: Any) -> str:
        raise AssertionError("fell back to json")

    monkeypatch.setattr("gateway.service.json_codec.reference_canonical_json", refuse)
    detail = {"kind": "transfer", "lane": "normal", "bytes": 812, "agencies": ["tax-12366"]}
    assert canonical_json(detail) == (
        '{"agencies":["tax-12366"],"bytes":812,"kind":"transfer","lane":"normal"}'
    )


def test_a_delivery_detail_with_its_milliseconds_is_answered_by_orjson(monkeypatch: Any) -> None:
    """A float json writes as orjson does (a delivery's `ms`) no longer falls back."""

    def refuse(*args: Any, **kwargs: Any) -> str:
        raise AssertionError("fell back to json")

    monkeypatch.setattr("gateway.service.json_codec.reference_canonical_json", refuse)
    detail = {"attempt": 1, "ms": 12.3, "status": 200, "at": [-0.5, 1e-4, 1e15, 113.2665]}
    assert canonical_json(detail) == (
        '{"at":[-0.5,0.0001,1000000000000000.0,113.2665],"attempt":1,"ms":12.3,"status":200}'
    )


@pytest.mark.parametrize(
    "value",
    [
        {"a": "2026-11-24T08:05:40.25Z", "b": "x.5,", "c": [1, 2, 1e-05]},  # a float last
        {"a": [1e-7, 0.5], "b": "T08:05:40.25+08:00"},  # an exponent before any fraction
        {"z": 12345678901234.5, "a": {"b": "y"}, "n": [1e-7]},  # one json writes as orjson
    ],
)
def test_a_float_after_fractions_in_strings_is_still_checked(value: Any) -> None:
    """The float check starts at the first fraction or exponent ending a value (one in a
    string counts too): a float anywhere after it is checked."""
    assert canonical_json(value) == reference_canonical_json(value)
    assert canonical_json(value, finite=True) == reference_canonical_json(value)


def test_a_text_without_floats_is_not_scanned_for_them(monkeypatch: Any) -> None:
    """An order's text (fractions of seconds only in its timestamps) skips the slow scan."""

    class Unscannable:
        def finditer(self, *args: Any) -> Any:
            raise AssertionError("scanned every byte")

    monkeypatch.setattr("gateway.service.json_codec._FLOAT", Unscannable())
    value = {"received_at": "2026-11-24T08:05:40.123456+08:00", "revision": 3, "e": "e1"}
    assert canonical_json(value) == reference_canonical_json(value)


#: where json switches to an exponent (below 1e-4, from 1e16) and orjson does elsewhere
EDGE_FLOATS = [1e-4, 9.999999999999999e-05, 1e-5, 1e15, 9999999999999998.0, 1e16, 1.5e300]
EDGE_FLOATS += [2.2250738585072014e-308, 5e-324, -1e-7, 0.1 + 0.2, 1 / 3, 1e21, 1e22, 1e23]


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(EDGE_FLOATS), finite_floats), min_size=1, max_size=6))
def test_floats_near_the_exponent_switch_are_the_reference_text(numbers: list[float]) -> None:
    value = {"n": numbers, "m": {"x": numbers[0], "y": -numbers[-1]}}
    assert canonical_json(value) == reference_canonical_json(value)
    assert canonical_json(value, finite=True) == reference_canonical_json(value)


@settings(max_examples=1000, deadline=None)
@given(values)
def test_compact_json_reads_back_as_json_would(value: Any) -> None:
    try:
        expected = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    except (TypeError, ValueError):
        return
    try:
        raw = compact_json(value)
    except (TypeError, ValueError):
        return  # what json cannot write either (a lone surrogate in UTF-8)
    parsed, wanted = json.loads(raw), json.loads(expected)
    assert _comparable(parsed) == _comparable(wanted)


def _comparable(value: Any) -> Any:
    """NaN and the infinities are null in orjson's wire form (json writes NaN, not JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return value
