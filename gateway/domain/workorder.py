"""The unified work order (工单): one model for every side of a handoff.

The hotline platform posts it; mappings turn it into each agency's payload; agencies'
updates move its status. Fields holding a citizen's personal data carry
``x-personal-data: true`` in the JSON Schema so every consumer can see which they are.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.config import JsonDict

from gateway.domain.assignments import Assignment
from gateway.domain.bounds import (
    NO_CONTROL,
    TEXT,
    AgencyId,
    ExternalId,
    ExternalRef,
    Revision,
    Timestamp,
)
from gateway.domain.states import Status

PERSONAL: JsonDict = {"x-personal-data": True}


class Category(StrEnum):
    """The five request types a 12345 hotline takes."""

    consult = "consult"  # 咨询
    help = "help"  # 求助
    complaint = "complaint"  # 投诉
    report = "report"  # 举报
    suggestion = "suggestion"  # 建议


class Urgency(StrEnum):
    """How fast the receiving agency must act; emergency uses its own delivery lane."""

    normal = "normal"
    urgent = "urgent"
    emergency = "emergency"


AwareDatetime = Timestamp  # aware, plausible offset, between 1970 and 9000 (bounds.py)


class Strict(BaseModel):
    """Base for wire models: unknown fields are refused, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Coordinates(Strict):
    """A point with the datum it is expressed in (Chinese maps often use GCJ-02)."""

    longitude: float = Field(ge=-180, le=180)
    latitude: float = Field(ge=-90, le=90)
    datum: Literal["WGS84", "GCJ02", "BD09", "CGCS2000"] = "WGS84"


class Location(Strict):
    """Where the matter is: address, 6-digit administrative division code, optional point."""

    address: str = Field(min_length=1, max_length=500, pattern=TEXT)
    division_code: str = Field(pattern=r"^\d{6}$", description="行政区划代码 (GB/T 2260)")
    coordinates: Coordinates | None = None


class Caller(Strict):
    """The citizen who called; every field is personal data."""

    name: str | None = Field(default=None, max_length=100, pattern=TEXT, json_schema_extra=PERSONAL)
    phone: str | None = Field(
        default=None, pattern=r"^\+?[0-9\-]{3,20}$", json_schema_extra=PERSONAL
    )
    id_number: str | None = Field(
        default=None, pattern=r"^[0-9]{17}[0-9Xx]$", json_schema_extra=PERSONAL
    )
    confidential: bool = Field(
        default=False, description="是否保密: caller asked to stay anonymous"
    )


class Attachment(Strict):
    """A file referred to by digest; the bytes travel separately."""

    name: str = Field(
        min_length=1,
        max_length=255,
        pattern=r"^[^/\\\x00-\x1f]+$",
        description="a plain file name: no path, no control characters, not . or ..",
    )

    @field_validator("name")
    @classmethod
    def _not_a_directory(cls, value: str) -> str:
        if value.strip(".") == "":
            raise ValueError("an attachment name cannot be '.' or '..'")
        return value

    media_type: str = Field(default="application/octet-stream", max_length=100, pattern=TEXT)
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class Deadlines(Strict):
    """When the agency must sign for, reply to and resolve the order."""

    acknowledge_by: AwareDatetime | None = None
    reply_by: AwareDatetime | None = None
    resolve_by: AwareDatetime | None = None


class WorkOrderIn(Strict):
    """A work order as the hotline platform submits it."""

    flow_id: ExternalId = Field(description="hotline flow id (工单流水号)")
    acceptance_no: ExternalId = Field(description="受理编号")
    revision: Revision = Field(default=1, description="bumped by the hotline on each change")
    partner_ids: dict[AgencyId, ExternalRef] = Field(
        default_factory=dict, description="ids on partner systems by agency, e.g. 110's JJDBH"
    )
    category: Category
    matter_code: ExternalRef | None = Field(default=None, description="事项编码")
    urgency: Urgency = Urgency.normal
    title: str = Field(min_length=1, max_length=200, pattern=TEXT)
    content: str = Field(min_length=1, max_length=20_000, pattern=TEXT)
    location: Location | None = None
    caller: Caller | None = None
    attachments: list[Attachment] = Field(default_factory=list, max_length=50)
    received_at: AwareDatetime
    due: Deadlines = Field(default_factory=Deadlines)
    channel: str = Field(
        default="phone", max_length=32, pattern=NO_CONTROL, description="intake channel"
    )
    route_to: list[AgencyId] | None = Field(
        default=None,
        max_length=10,
        description="agencies chosen by the operator; skips the catalogue when given",
    )


class WorkOrder(WorkOrderIn):
    """A work order as Lianxin holds it: the submission plus its id, origin and status."""

    id: str
    origin: str = Field(
        default="hotline", description="'hotline' or the agency that transferred it"
    )
    status: Status = Status.received
    lead_agency: str | None = None
    assisting_agencies: list[str] = Field(default_factory=list)
    assignments: list[Assignment] = Field(
        default_factory=list,
        description="each agency's part (主办/协办), generation by generation "
        "(docs/state-machine.md)",
    )
