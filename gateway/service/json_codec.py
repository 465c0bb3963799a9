"""JSON on the hot path: orjson where its bytes are the standard library's, json elsewhere.

`canonical_json` is what audit hashes and payload digests cover, so its text must stay
byte for byte what `json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`
wrote when the chains in existing databases were hashed. orjson writes the same text for
strings, integers of 64 bits, booleans, lists and string-keyed dicts (sorted by code
point), but not always for floats (`1e-05` is `0.00001` to it) nor for NaN and the
infinities (json's `NaN`, orjson's `null`). So its answer is kept only when each float in
it (a number with a fraction or an exponent where a value stands: also inside a string
that looks so, checked needlessly, never wrongly) is written as json writes it (`repr` of
the float it reads back as: a delivery's `ms`, a coordinate), when it holds no `null`
(which a NaN would have become), and is a dict or a list (a lone scalar goes the json
way); anything
orjson refuses (a non-string key, a larger integer, a str/int/dict/list subclass, a
datetime or dataclass) goes the json way too, which answers or raises as it always did.
A caller that knows its value holds no NaN nor infinity (a validated work order's dump)
says `finite=True`, and then a `null` is taken for the None it must be.
(Only values json refuses can get another answer: orjson writes a UUID, or a plain Enum's
value, where json raises TypeError; no hashed value is either.)
tests/unit/service/test_json_codec.py checks the identity property over those shapes.

`compact_json` is the wire form of a message (its digest is over the bytes as stored, never
re-derived from values): orjson's compact UTF-8, or json's when orjson refuses the value.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_SORTED = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_SUBCLASS
_PASSTHROUGH = (
    orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
)
#: where orjson's text may not be json's: a float, a number with a fraction or an exponent
#: between the signs that open and close a value in compact JSON (so not the "08:05:40.5"
#: of a timestamp, which made every order's digest go the json way; a string holding
#: ":1.5," still matches: a needless fallback, never a wrong one). NaN and the
#: infinities are written as null: `_NULL` (a literal: searching for it is quick).
_FLOAT = re.compile(rb"[:,\[](-?[0-9]+(?:\.[0-9]+(?:[eE][-+]?[0-9]+)?|[eE][-+]?[0-9]+))(?![^,\]}])")
#: the tail of every float orjson writes (a fraction, or an exponent: orjson's `e` is lower
#: case), where a value ends: looked for first, from a literal `.` or `e` (quick), so that
#: `_FLOAT`, which tries every byte, scans only from the first float on, and a text with
#: no float (an order: its timestamps' fractions end in `Z` or an offset) not at all.
#: An `E` can only be in a string, whose text is json's anyway.
_FRACTION = re.compile(rb"\.[0-9]+(?:[eE][-+]?[0-9]+)?(?![^,\]}])")
_EXPONENT = re.compile(rb"e[-+]?[0-9]+(?![^,\]}])")
_NULL = re.compile(rb"null")


def canonical_json(value: Any, finite: bool = False) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 kept as is (json's exact text).

    `finite`: the caller knows `value` holds no NaN nor infinity (e.g. a validated model's
    dump whose floats are bounded), so a `null` in orjson's text can only be a None."""
    try:
        raw = orjson.dumps(value, option=_SORTED | _PASSTHROUGH)
    except TypeError:  # orjson.JSONEncodeError: a value only json knows (or neither)
        return reference_canonical_json(value)
    if raw[:1] not in (b"{", b"[") or not _floats_as_json_writes(raw):
        return reference_canonical_json(value)  # a float json writes otherwise, a lone scalar
    if not finite and _NULL.search(raw) is not None:
        return reference_canonical_json(value)
    return raw.decode()


def _floats_as_json_writes(raw: bytes) -> bool:
    """Whether every number with a fraction or an exponent in orjson's text is the text
    json writes for it: `repr` of the float it reads back as (json writes `float.__repr__`,
    and orjson's digits read back as the very float it was given). Both write the shortest
    digits that read back; they differ only in where they switch to an exponent (orjson's
    `1e16`, `0.00001`; json's `1e+16`, `1e-05`), and those go the json way."""
    fraction = _FRACTION.search(raw)
    first = len(raw) if fraction is None else fraction.start()
    exponent = _EXPONENT.search(raw, 0, first)  # only one before the first fraction matters
    if exponent is not None:
        first = exponent.start()
    elif fraction is None:
        return True
    # a float's digits hold no `:`, `,` nor `[`: the nearest before its tail opens it
    opened = max(raw.rfind(b":", 0, first), raw.rfind(b",", 0, first), raw.rfind(b"[", 0, first))
    for match in _FLOAT.finditer(raw, max(opened, 0)):
        number = match.group(1)
        if repr(float(number)).encode() != number:
            return False
    return True


def reference_canonical_json(value: Any) -> str:
    """The definition of canonical JSON: the standard library's sorted, compact text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def compact_json(value: Any) -> bytes:
    """Compact UTF-8 JSON bytes in the value's own key order (Chinese text stays readable)."""
    try:
        return orjson.dumps(value, option=_PASSTHROUGH)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
