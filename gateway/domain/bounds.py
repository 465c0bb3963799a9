"""Field bounds: the one source of truth for the wire models and the tables.

A value the API accepts must fit the column it lands in on both databases: PostgreSQL
refuses a string longer than its column, any NUL character, and an integer past 32 or 64
bits; SQLite refuses integers past 64 bits, and Python cannot move a date past year 9999
to UTC. So lengths, integer ranges, control characters and dates are bounded here, the
pydantic models use these types, and `gateway/store/schema.py` sizes its columns with the
same constants. A value outside them is a 422 `validation_error` before any database work.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

ORDER_ID_MAX = 40  # wo_ + 28 hex digits, with room
HANDOFF_ID_MAX = 40
AGENCY_ID_MAX = 50
FLOW_ID_MAX = 64  # the hotline's and the agencies' own ids
MESSAGE_ID_MAX = 160  # webhook-id, stored for de-duplication
STATUS_MAX = 32
AGENCY_REF_MAX = 64
INT32_MAX = 2**31 - 1  # PostgreSQL `integer`

#: no control character at all: ids, codes, names that end up in columns or headers
NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
#: free text: tabs and line breaks allowed, no other control character (NUL above all)
TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
#: ids Lianxin makes itself (`new_id`): letters, digits, `_` and `-`
OWN_ID = r"^[A-Za-z0-9_\-]+$"

MAX_OFFSET = timedelta(hours=14)  # the widest UTC offsets in use are -12:00 and +14:00
EARLIEST = datetime.fromisoformat("1970-01-01T00:00:00+00:00")
LATEST = datetime.fromisoformat("9000-01-01T00:00:00+00:00")


#: an id Lianxin made (order, handoff): refused at once if it cannot be one of ours
OrderId = Annotated[str, StringConstraints(min_length=1, max_length=ORDER_ID_MAX, pattern=OWN_ID)]
#: a reference to one of our orders inside a message (may be empty: then flow_id is used)
OrderRef = Annotated[str, StringConstraints(max_length=ORDER_ID_MAX, pattern=NO_CONTROL)]
#: an agency's id, as in the mappings and the `agency` columns
AgencyId = Annotated[
    str, StringConstraints(min_length=1, max_length=AGENCY_ID_MAX, pattern=NO_CONTROL)
]
#: an id from another system: flow ids, 受理编号, event ids, partner references
ExternalId = Annotated[
    str, StringConstraints(min_length=1, max_length=FLOW_ID_MAX, pattern=NO_CONTROL)
]
#: the same, where an empty value means "none given"
ExternalRef = Annotated[str, StringConstraints(max_length=FLOW_ID_MAX, pattern=NO_CONTROL)]


def _plausible(value: datetime) -> datetime:
    offset = value.utcoffset()
    if offset is None:
        raise ValueError("timestamp must carry a UTC offset, e.g. 2026-11-24T08:00:00+08:00")
    if abs(offset) > MAX_OFFSET:
        raise ValueError("the UTC offset must be between -14:00 and +14:00")
    if not EARLIEST <= value <= LATEST:
        raise ValueError("timestamp must be between 1970-01-01 and 9000-01-01")
    return value


#: a timestamp with a plausible UTC offset, between 1970 and 9000
Timestamp = Annotated[datetime, AfterValidator(_plausible)]
#: a revision number that fits a 32-bit column
Revision = Annotated[int, Field(ge=1, le=INT32_MAX)]
