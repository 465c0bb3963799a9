from __future__ import annotations

import pytest

from gateway.domain.errors import Unmappable
from gateway.mapping.payload import render
from gateway.mapping.profiles import AgencyProfile

PROFILE = AgencyProfile.model_validate(
    {
        "id": "tax",
        "name": "税务",
        "transport": "rest",
        "code_tables": {"category": {"consult": "ZX"}},
        "payload": {
            "gdbh": {"source": "flow_id"},
            "sqlx": {"source": "category", "codes": "category"},
            "dz.xzqh": {"source": "location.division_code"},
            "lxr.dh": {"source": "caller.phone"},
            "ly": {"const": "12345"},
        },
    }
)


def test_fields_are_copied_coded_nested_and_constant() -> None:
    document = {
        "flow_id": "F1",
        "category": "consult",
        "location": {"division_code": "440106"},
        "caller": None,
    }
    assert render(PROFILE, document) == {
        "gdbh": "F1",
        "sqlx": "ZX",
        "dz": {"xzqh": "440106"},
        "ly": "12345",
    }


def test_a_value_missing_from_the_code_table_is_unmappable() -> None:
    with pytest.raises(Unmappable, match="code table 'category' has no entry for 'report'"):
        render(PROFILE, {"flow_id": "F1", "category": "report"})


def test_a_profile_without_payload_rules_sends_the_document_itself() -> None:
    plain = PROFILE.model_copy(update={"payload": {}})
    assert render(plain, {"a": 1}) == {"a": 1}
