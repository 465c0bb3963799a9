"""The console's view of a handoff payload: the caller's own data masked wherever it is."""

from __future__ import annotations

import json

from gateway.service.views.handoff import masked_payload

SECRETS = {"李先生": "李**", "13900001111": "139****1111"}


def test_the_callers_name_and_phone_are_masked_under_the_agencys_own_field_names() -> None:
    body = json.dumps({"sqr": {"xm": "李先生", "lxdh": "13900001111"}}, ensure_ascii=False)
    text, form = masked_payload(body.encode(), SECRETS)
    assert form == "json"
    assert json.loads(text) == {"sqr": {"xm": "李**", "lxdh": "139****1111"}}


def test_json_written_with_ascii_escapes_is_masked_too() -> None:
    body = json.dumps({"name": "李先生", "note": "回电 13900001111"}).encode()  # \\u674e…
    text, _form = masked_payload(body, SECRETS)
    assert "李先生" not in text and "13900001111" not in text and "李**" in text


def test_other_phone_and_id_numbers_in_free_text_are_masked() -> None:
    body = "<case><memo>邻居 13812345678, 身份证 44010419900101123X</memo></case>".encode()
    text, form = masked_payload(body, {})
    assert form == "text"
    assert "138****5678" in text and "440***********123X" in text
