from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from gateway.domain.schema import render
from gateway.domain.workorder import WorkOrderIn

SCHEMA_FILE = Path(__file__).parents[3] / "docs" / "work-order.schema.json"


def valid(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "flow_id": "GZ-1",
        "acceptance_no": "SL-1",
        "category": "consult",
        "title": "咨询",
        "content": "个税如何申报",
        "received_at": "2026-11-24T08:00:00+08:00",
    }
    return {**base, **changes}


def test_the_published_schema_matches_the_model() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == render(), (
        "docs/work-order.schema.json is stale: run "
        "`python -m gateway.domain.schema > docs/work-order.schema.json`"
    )


def test_caller_fields_are_marked_as_personal_data() -> None:
    schema = WorkOrderIn.model_json_schema()
    caller = schema["$defs"]["Caller"]["properties"]
    assert all(caller[name].get("x-personal-data") for name in ("name", "phone", "id_number"))


def test_a_division_code_has_six_digits() -> None:
    with pytest.raises(ValidationError, match="division_code"):
        WorkOrderIn.model_validate(valid(location={"address": "广州", "division_code": "4401"}))


def test_a_timestamp_without_offset_is_refused() -> None:
    with pytest.raises(ValidationError, match="UTC offset"):
        WorkOrderIn.model_validate(valid(received_at="2026-11-24T08:00:00"))


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        WorkOrderIn.model_validate(valid(colour="red"))


def test_an_attachment_name_cannot_hold_a_path() -> None:
    attachment = {"name": "../../etc/passwd", "size": 1, "sha256": "a" * 64}
    with pytest.raises(ValidationError, match="attachments"):
        WorkOrderIn.model_validate(valid(attachments=[attachment]))
