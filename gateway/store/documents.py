"""A stored order's JSON text: written and read with orjson, json where orjson falls short.

The text is storage only (the order's digest is over canonical JSON, made elsewhere), so
its bytes need not be json's. orjson refuses integers wider than 64 bits when it writes,
and when it reads it turns them into floats; a text with a number of 19 or more digits
where a value stands (after `:`, `,`, `[` or white space: an integer that may be that
wide, or such a run inside a string, a needless fallback, never a wrong one) is read by
json, which keeps them exact. Digits inside a word (an id such as `hot-1765…` with a
nanosecond time in it, which sent every read of such an order to json) are no number.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

#: each byte of a text's UTF-8 as its class: a digit, a sign, a place where a value may
#: begin in JSON (after `:`, `,`, `[` or white space), anything else (non-ASCII included)
_CLASSES = bytes(
    ord("0")
    if chr(b).isdigit() and b < 128
    else ord("-")
    if b == ord("-")
    else ord(":")
    if chr(b) in ":,[ \t\n\r"
    else ord("x")
    for b in range(256)
)
_LONG_RUN = b"0" * 19


def document_text(document: dict[str, Any]) -> str:
    """Compact UTF-8 JSON of `document`, in its own key order."""
    try:
        return orjson.dumps(document).decode()
    except TypeError:  # orjson.JSONEncodeError: a wide integer, a NaN-free value json takes
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def read_document(text: str) -> Any:
    """The values of a stored document's text, every integer exact."""
    if _maybe_wide(text):
        return json.loads(text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # e.g. an exponent beyond a double's: json's answer
        return json.loads(text)


def _maybe_wide(text: str) -> bool:
    """Whether a run of 19 or more digits begins a value. Looked for in the text's bytes
    mapped to their classes (in C): a regular expression scanning every character of an
    order's text cost more than parsing it."""
    try:
        marks = text.encode().translate(_CLASSES)
    except UnicodeEncodeError:  # a lone surrogate: json decides
        return True
    at = marks.find(_LONG_RUN)
    while at != -1:
        before = at - 1
        if before >= 0 and marks[before] == ord("-"):
            before -= 1
        if before < 0 or marks[before] == ord(":"):
            return True
        at = marks.find(
            _LONG_RUN, at + len(_LONG_RUN)
        )  # the next run (this one's rest follows a digit)
    return False
