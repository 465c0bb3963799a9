"""Pure translation for message boards: pages, board messages → TransferIn, replies.

No I/O here: `connectors/portal/connector.py` fetches and posts, this module decides what the bytes
mean. Every problem is a typed error naming the board message, so a refusal in the audit
trail says which message was refused and why.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from gateway.domain.errors import InputError, MalformedMessage
from gateway.domain.messages import TransferIn
from gateway.mapping.payload import render_fields
from gateway.mapping.profiles import AgencyProfile, PortalPolicy

HAS_OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")
MAX_ID = 120  # board ids are kept in inbound_messages.message_id (160) with a prefix


@dataclass(frozen=True)
class Page:
    """One answer to a poll: the messages after the cursor, and where to go on from."""

    messages: list[Any]
    next_cursor: str | None


def page_of(policy: PortalPolicy, content: bytes) -> Page:
    """The page in `content`, or MalformedMessage when it is not the board's page shape."""
    try:
        data = json.loads(content)
    except ValueError as exc:
        raise MalformedMessage(f"the board's page is not JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get(policy.items_field), list):
        raise MalformedMessage(f"the board's page has no list '{policy.items_field}'")
    cursor = data.get(policy.cursor_field)
    if cursor is not None and not isinstance(cursor, str | int):
        raise MalformedMessage(f"the board's '{policy.cursor_field}' is not a string")
    return Page(data[policy.items_field], None if cursor is None else str(cursor))


def board_id(policy: PortalPolicy, message: Any) -> str | None:
    """The board's own id of `message`, if it has a usable one."""
    if not isinstance(message, dict):
        return None
    value = message.get(policy.id_field)
    if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
        return None
    text = str(value).strip()
    return text if len(text) <= MAX_ID else None


def to_transfer(profile: AgencyProfile, message: Any) -> TransferIn:
    """The work order a board message becomes (origin: the board, handled by the hotline)."""
    policy = _policy(profile)
    ident = board_id(policy, message)
    if ident is None:
        raise InputError(f"board message without a usable '{policy.id_field}'")
    assert isinstance(message, dict)
    where = f"{profile.id}: portal.fields"
    document: dict[str, Any] = {
        "category": policy.category.value,
        "channel": policy.channel,
        **render_fields(policy.fields, profile.code_tables, message, where),
        "flow_id": ident,
    }
    if policy.matter_code and "matter_code" not in document:
        document["matter_code"] = policy.matter_code
    _complete_location(document, policy)
    _complete_time(document, policy)
    try:
        return TransferIn.model_validate({"type": "transfer", "work_order": document})
    except ValidationError as exc:
        problems = "; ".join(_problems(exc))
        raise InputError(f"board message {ident}: {problems}", board_id=ident) from exc


def reply_body(profile: AgencyProfile, envelope: dict[str, Any]) -> dict[str, Any]:
    """The board's reply (or correction) for a feedback event envelope."""
    policy = _policy(profile)
    if not policy.reply_fields:
        return {"content": envelope.get("note") or "", "replied_at": envelope.get("occurred_at")}
    where = f"{profile.id}: portal.reply_fields"
    return render_fields(policy.reply_fields, profile.code_tables, envelope, where)


def reply_id(content: bytes) -> str | None:
    """The id the board gave a reply (`{"id": …}`), if its answer names one."""
    try:
        data = json.loads(content or b"null")
    except ValueError:
        return None
    if isinstance(data, dict) and isinstance(data.get("id"), str | int):
        return str(data["id"])[:64]
    return None


def _policy(profile: AgencyProfile) -> PortalPolicy:
    if profile.portal is None:  # the profile validator makes this impossible for 'portal'
        raise InputError(f"agency '{profile.id}' has no [portal] table")
    return profile.portal


def _complete_location(document: dict[str, Any], policy: PortalPolicy) -> None:
    location = document.get("location")
    if isinstance(location, dict) and "division_code" not in location:
        location["division_code"] = policy.division_code


def _complete_time(document: dict[str, Any], policy: PortalPolicy) -> None:
    """Boards often write local time without an offset; read it in the board's zone."""
    value = document.get("received_at")
    if isinstance(value, str) and not HAS_OFFSET.search(value.strip()):
        document["received_at"] = value.strip().replace(" ", "T", 1) + policy.utc_offset


def _problems(exc: ValidationError) -> list[str]:
    return [
        f"{'.'.join(str(p) for p in e['loc'][1:]) or '(message)'}: {e['msg']}"
        for e in exc.errors(include_url=False, include_input=False)
    ][:10]
