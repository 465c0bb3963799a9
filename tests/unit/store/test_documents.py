"""A stored order's text round-trips every value exactly, wide integers included."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.store.documents import document_text, read_document


def test_text_is_compact_utf8_and_reads_back_the_same_values() -> None:
    document = {"summary": "路灯不亮", "revision": 3, "caller": {"name": None}, "at": 1.5e-7}
    text = document_text(document)
    assert "路灯不亮" in text and ", " not in text
    assert read_document(text) == document


def test_an_integer_wider_than_64_bits_stays_exact() -> None:
    wide = 123456789012345678901234567890
    text = document_text({"n": wide})
    assert json.loads(text) == {"n": wide}
    assert read_document(text) == {"n": wide}  # orjson would read a float


@pytest.mark.parametrize(
    "text",
    [
        '{"n":123456789012345678901234567890}',
        '{"n":[1,-123456789012345678901234567890]}',
        '{"n": 123456789012345678901234567890}',  # written by another hand, with spaces
        "[123456789012345678901234567890]",
        "123456789012345678901234567890",
    ],
)
def test_a_wide_integer_is_read_exactly_wherever_it_stands(text: str) -> None:
    assert read_document(text) == json.loads(text)
    assert "123456789012345678901234567890" in json.dumps(read_document(text))


def test_digits_inside_a_string_are_read_by_orjson(monkeypatch: Any) -> None:
    """An id with a nanosecond time in it is no wide integer: no fallback to json."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("fell back to json")

    monkeypatch.setattr("gateway.store.documents.json.loads", refuse)
    text = '{"id":"hot-1765106154123456789-0","flow_id":"F20261207123456789012"}'
    assert read_document(text) == {
        "id": "hot-1765106154123456789-0",
        "flow_id": "F20261207123456789012",
    }


numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**100), max_value=2**100),
    st.floats(allow_nan=False, allow_infinity=False),
)
words = st.one_of(
    st.text(max_size=8), st.from_regex(r"[a-z:,\[ -]{0,3}[0-9]{17,21}", fullmatch=True)
)
documents = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, words),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(words, inner, max_size=3)),
    max_leaves=10,
)


def _typed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value), value)


@settings(max_examples=1000, deadline=None)
@given(documents, st.sampled_from([(",", ":"), (", ", ": ")]))
def test_every_document_reads_back_as_json_reads_it(document: Any, separators: Any) -> None:
    text = json.dumps(document, ensure_ascii=False, separators=separators)
    assert _typed(read_document(text)) == _typed(json.loads(text))
