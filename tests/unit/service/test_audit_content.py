"""The fast hashed form of an entry is canonical JSON, byte for byte, for any value.

Existing trails were hashed with `canonical_json` of a dict: the fast form must give the
same text for every input (None, non-ASCII, quotes, control characters, U+2028, lone
surrogates, odd types a tampered SQLite column can hold), or old chains stop verifying.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain.audit import AuditRecord
from gateway.service.audit import (
    GENESIS,
    HASHED_ORDER,
    StoredEntries,
    as_row,
    digest,
    entry_content,
    entry_hash,
    verify_chain,
)
from gateway.service.json_codec import reference_canonical_json

NASTY = [
    None,
    "",
    '"',
    "\\",
    '\\"',
    "\u2028",
    "\u2029",
    "\x7f",
    "\x85",
    "\ufeff",
    "\ud800",
    "已受理：燃气泄漏",
    "😀",
    "</script>",
    "a\x00b",
    *(chr(code) for code in range(0x20)),
]
any_char = st.characters(exclude_categories=())  # lone surrogates too
text = st.one_of(st.none(), st.sampled_from(NASTY), st.text(), st.text(any_char))
number = st.integers(min_value=-(2**70), max_value=2**70)
odd = st.one_of(st.booleans(), st.floats(allow_nan=True), st.integers(), st.binary(max_size=3))


def reference(prev: Any, seq: Any, at_us: Any, values: tuple[Any, ...]) -> str:
    """How entries were hashed before the fast form: a dict, sorted and dumped."""
    fields = dict(zip(HASHED_ORDER, values, strict=True))
    return reference_canonical_json({"prev": prev, "seq": seq, "at": at_us, **fields})


def outcome(make: Any, *args: Any) -> str | type[Exception]:
    """What `make(*args)` returns, or the kind of error it raises."""
    try:
        return str(make(*args))
    except (TypeError, ValueError) as exc:  # UnicodeEncodeError is a ValueError
        return type(exc)


def same_outcome(prev: Any, seq: Any, at_us: Any, values: tuple[Any, ...]) -> None:
    expected = outcome(reference, prev, seq, at_us, values)
    assert outcome(entry_content, prev, seq, at_us, *values) == expected


@pytest.mark.slow
@settings(max_examples=3000)
@given(text, number, number, st.tuples(*[text] * len(HASHED_ORDER)))
def test_the_fast_form_is_canonical_json(
    prev: str | None, seq: int, at_us: int, values: tuple[str | None, ...]
) -> None:
    same_outcome(prev, seq, at_us, values)


@settings(max_examples=1000)
@given(
    st.one_of(number, odd),
    st.one_of(number, odd),
    st.lists(st.one_of(text, odd), min_size=7, max_size=7),
)
@pytest.mark.slow
def test_values_of_other_types_give_what_canonical_json_gives(
    seq: Any, at_us: Any, values: list[Any]
) -> None:
    same_outcome(GENESIS, seq, at_us, tuple(values))


def test_every_nasty_value_in_every_field() -> None:
    for position in range(len(HASHED_ORDER) + 1):
        for value in NASTY:
            values = ["sent", "wo_1", None, "tax", "d" * 64, None, "{}"]
            prev = GENESIS
            if position < len(values):
                values[position] = value
            else:
                prev = value  # type: ignore[assignment]
            same_outcome(prev, 7, 1_700_000_000_000_000, tuple(values))


@given(st.tuples(*[text] * len(HASHED_ORDER)))
def test_entry_hash_is_the_digest_of_canonical_json(values: tuple[str | None, ...]) -> None:
    fields = dict(zip(HASHED_ORDER, values, strict=True))
    expected = outcome(lambda: digest(reference(GENESIS, 3, 42, values)))
    assert outcome(entry_hash, GENESIS, 3, 42, fields) == expected


def test_unusual_field_sets_still_hash_as_before() -> None:
    for fields in ({}, {"event": "sent"}, {"event": "sent", "extra": "x"}, {"prev": "forged"}):
        expected = digest(reference_canonical_json({"prev": GENESIS, "seq": 1, "at": 5, **fields}))
        assert entry_hash(GENESIS, 1, 5, fields) == expected  # type: ignore[arg-type]


def chain(details: list[str]) -> list[AuditRecord]:
    records, prev = [], GENESIS
    for seq, detail in enumerate(details, start=1):
        draft = AuditRecord(seq, seq, "sent", None, "msg", "tax", None, None, detail, prev, "")
        fields = dict(zip(HASHED_ORDER, as_row(draft)[2:9], strict=True))
        records.append(replace(draft, entry_hash=entry_hash(prev, seq, seq, fields)))
        prev = records[-1].entry_hash
    return records


def test_stored_rows_and_records_give_the_same_report() -> None:
    records = chain(['{"n":"\u2028"}', '{"n":"\\""}', '{"n":"中"}', "{}"])
    head = (records[-1].seq, records[-1].entry_hash)
    records[2] = replace(records[2], detail='{"n":"中 "}')
    from_rows = verify_chain(StoredEntries(iter([as_row(r) for r in records])), head)
    assert from_rows == verify_chain(records, head)
    assert (from_rows.ok, from_rows.seq, from_rows.entries) == (False, 3, 3)


def test_stored_entries_read_as_records() -> None:
    records = chain(["{}", "{}"])
    assert list(StoredEntries(iter([as_row(r) for r in records]))) == records
