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
import re
from typing import Any

import orjson

_LONG_RUN = re.compile(r"[0-9]{19}")
#: what stands before a number where a value begins (after its sign, if any)
_VALUE_START = frozenset(":,[ \t\n\r")


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
    return orjson.loads(text)


def _maybe_wide(text: str) -> bool:
    """Whether a run of 19 or more digits begins a value (the first match in a run is its
    start; a pattern that looked behind every digit cost six times this search)."""
    for run in _LONG_RUN.finditer(text):
        before = run.start() - 1
        if before >= 0 and text[before] == "-":
            before -= 1
        if before < 0 or text[before] in _VALUE_START:
            return True
    return False
