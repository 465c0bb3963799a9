"""An entry's stored detail: masked canonical JSON, byte for byte, however it is reached.

`masked_detail_text` skips masking when the unmasked text shows nothing to mask; what it
writes must be `canonical_json(mask_detail(detail))`, the definition, for every detail:
phone numbers, IDs and landlines anywhere (nested, next to quotes, escapes, control
characters, non-ASCII), in keys or numbers, in a signed block that stays as sent.
"""

from __future__ import annotations

from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from gateway.domain.personal import mask_detail, may_hold_personal
from gateway.service.audit import masked_detail_text
from gateway.service.json_codec import canonical_json, reference_canonical_json

PERSONAL = ["13812345678", "+86 13912345678", "440106199001011234", "44010619900101123X"]
PERSONAL += ["020-12345678", "0755-1234567", "8613812345678", "138123456789", "1381234567"]
AROUND = ["", " ", "a", "1", "电话", '"', "\\", "\n", "\x1f", "\u2028", "-", "+", ":", "x1"]

personal_text = st.builds(
    lambda before, number, after: before + number + after,
    st.sampled_from(AROUND),
    st.sampled_from(PERSONAL),
    st.sampled_from(AROUND),
)
hexish = st.text("0123456789abcdef", min_size=7, max_size=64)
text = st.one_of(personal_text, hexish, st.text(max_size=12), st.sampled_from(AROUND))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([13812345678, 440106199001011234, 12.5]),
    text,
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner),
        st.dictionaries(text, inner, max_size=3),
    ),
    max_leaves=12,
)
details = st.dictionaries(st.one_of(text, st.just("signed")), values, max_size=5)


def definition(detail: dict[str, Any]) -> str:
    return reference_canonical_json(mask_detail(detail))


@settings(max_examples=3000, deadline=None)
@given(details)
@example({"callback": {"phone": "13812345678"}, "signed": {"id": "13912345678"}})
@example({"note": "\\n13812345678"})
@example({"note": "\n13812345678", "digest": "0123456789abcdef"})
@example({"13812345678": 1, "n": 440106199001011234})
def test_the_stored_detail_is_the_masked_canonical_json(detail: dict[str, Any]) -> None:
    assert masked_detail_text(detail) == definition(detail)


@settings(max_examples=1000, deadline=None)
@given(st.lists(text, min_size=1, max_size=4))
def test_text_said_to_hold_nothing_personal_is_left_as_it_is_by_masking(words: list[str]) -> None:
    detail = {f"k{i}": word for i, word in enumerate(words)}
    if not may_hold_personal(canonical_json(detail)):
        assert mask_detail(detail) == detail


def test_a_delivery_detail_is_not_walked_to_be_masked(monkeypatch: Any) -> None:
    """The usual entry (digests, ids, codes: a digest may hold seven digits in a row)
    is written without `mask_detail`: what made linking an entry cost the most."""

    def refuse(detail: dict[str, Any]) -> dict[str, Any]:
        raise AssertionError("walked to be masked")

    monkeypatch.setattr("gateway.service.audit.mask_detail", refuse)
    detail = {
        "attempt": 1,
        "endpoint": "http://127.0.0.1:38211/agency",
        "ms": 3.2,
        "response_digest": "5f1e2c0a9b8d7e6f1234567890abcdef5f1e2c0a9b8d7e6f1234567890abcdef",
        "status": 200,
        "agency_ref": "JJ-20261207-0001",
    }
    assert masked_detail_text(detail) == reference_canonical_json(detail)


def test_a_phone_number_in_a_detail_is_masked() -> None:
    detail = {"callback": {"note": "回电 13812345678"}, "signed": {"msg_id": "13812345678"}}
    assert masked_detail_text(detail) == (
        '{"callback":{"note":"回电 138****5678"},"signed":{"msg_id":"13812345678"}}'
    )
