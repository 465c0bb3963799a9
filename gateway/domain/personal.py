"""Personal data of a work order: which fields they are, and how they are masked for display.

The fields are the `Caller` fields the schema marks ``x-personal-data``; the list is read
from the model, so a field marked there is sealed, masked and purged without a second list
to keep in step. Masking rules (docs/security.md, "Personal data"):

- phone: first 3 and last 4 characters kept, the rest `*` (138****5678); 7 characters or
  fewer keep only their last 2;
- name: first character kept, every other one `*` (陈**);
- ID number: first 3 and last 4 kept, the 11 between `*` (440***********123X).

In free text (log lines, error texts) mobile numbers (11 digits, 1[3-9]…, optionally with
+86), landlines written with an area code (e.g. 020-12345678) and 18-character ID numbers are
masked with the same rules wherever no letter or digit touches them.
"""

from __future__ import annotations

import re
from typing import Any

from gateway.domain.workorder import Caller


def _personal_fields() -> tuple[str, ...]:
    marked = []
    for name, info in Caller.model_fields.items():
        extra = info.json_schema_extra
        if isinstance(extra, dict) and extra.get("x-personal-data"):
            marked.append(name)
    return tuple(marked)


#: the Caller fields marked x-personal-data: ("name", "phone", "id_number")
PERSONAL_FIELDS: tuple[str, ...] = _personal_fields()

_EDGE_BEFORE = r"(?<![0-9A-Za-z])"
_EDGE_AFTER = r"(?![0-9A-Za-z])"
ID_NUMBER = re.compile(_EDGE_BEFORE + r"[1-9][0-9]{16}[0-9Xx]" + _EDGE_AFTER)
MOBILE = re.compile(_EDGE_BEFORE + r"(?:\+?86[ \-]?)?1[3-9][0-9]{9}" + _EDGE_AFTER)
LANDLINE = re.compile(_EDGE_BEFORE + r"0[1-9][0-9]{1,2}-[0-9]{7,8}" + _EDGE_AFTER)
#: what every one of the three holds: seven digits in a row (most texts have none)
_DIGIT_RUN = re.compile(r"[0-9]{7}")
_DIGITS = re.compile(r"[0-9]{7,}")


def mask_phone(phone: str) -> str:
    """138****5678: first 3 and last 4 kept; short numbers keep only their last 2."""
    if len(phone) <= 7:
        return "*" * max(len(phone) - 2, 1) + phone[-2:]
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_name(name: str) -> str:
    """陈**: the first character kept, every other one a star."""
    return name[:1] + "*" * (len(name) - 1) if len(name) > 1 else "*"


def mask_id_number(id_number: str) -> str:
    """440***********123X: the first 3 and last 4 characters kept."""
    return id_number[:3] + "*" * (len(id_number) - 7) + id_number[-4:]


_MASKS = {"name": mask_name, "phone": mask_phone, "id_number": mask_id_number}


def mask_caller(caller: dict[str, Any] | None) -> dict[str, Any] | None:
    """A copy of a dumped `Caller` with every personal field masked."""
    if caller is None:
        return None
    masked = dict(caller)
    for field in PERSONAL_FIELDS:
        value = masked.get(field)
        if isinstance(value, str) and value:
            masked[field] = _MASKS[field](value)
    return masked


def mask_text(text: str) -> str:
    """`text` with every ID number, mobile and landline number in it masked."""
    if _DIGIT_RUN.search(text) is None:
        return text
    text = ID_NUMBER.sub(lambda m: mask_id_number(m.group()), text)
    text = MOBILE.sub(lambda m: mask_phone(m.group()), text)
    return LANDLINE.sub(lambda m: mask_phone(m.group()), text)


def may_hold_personal(text: str) -> bool:
    """Whether `mask_text` could change some string written in JSON `text` (orjson's or
    json's, UTF-8 kept): False only when it could not. In such text a string's characters
    stand as they are between quotes, unless one is escaped (a backslash: then True), so
    a number masked inside a string is found in the text too, with the same characters,
    or quotes, around it. A match elsewhere (a key, a number) only says True needlessly.

    Each of the three holds a run of seven digits, so only around such runs is looked at
    (a pattern that opens with a look-behind is tried at every character otherwise)."""
    if "\\" in text:  # an escape may hide what the pattern would see
        return _DIGITS.search(text) is not None
    for run in _DIGITS.finditer(text):
        # a mobile's +86 or a landline's area code stands at most 5 characters before the
        # run, an ID's X and the character that ends a number just after it
        start, end = max(run.start() - 5, 0), run.end() + 2
        if any(p.search(text, start, end) for p in (ID_NUMBER, MOBILE, LANDLINE)):
            return True
    return False


def mask_strings(value: Any) -> Any:
    """A copy of JSON-like data with `mask_text` applied to every string in it."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {key: mask_strings(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_strings(item) for item in value]
    return value


def mask_detail(detail: dict[str, Any]) -> dict[str, Any]:
    """An audit entry's detail with `mask_text` applied to every string, except in its
    `signed` block: a sender's message id, time, signature and digests, which must stay
    byte for byte to verify again, and which hold no free text."""
    masked = mask_strings({k: v for k, v in detail.items() if k != SIGNED_DETAIL})
    if SIGNED_DETAIL in detail:
        masked[SIGNED_DETAIL] = detail[SIGNED_DETAIL]
    return masked  # type: ignore[no-any-return]


#: the detail key of a sender's signature material (gateway/domain/evidence.py: SIGNED)
SIGNED_DETAIL = "signed"
