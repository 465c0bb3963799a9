"""Personal data over the API: the agency gets it in clear, the order view shows it masked."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx

from tests.conftest import Stack
from tests.integration.api.helpers import order, wait_until

CALLER = {"name": "李先生", "phone": "13900001111", "id_number": "44010619900101123X"}


def test_the_order_view_masks_the_caller_and_the_agency_still_gets_the_phone(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack()
    tax = stack.agencies["tax-12366"]
    with httpx.Client(base_url=stack.url) as client:
        accepted = client.post("/v1/work-orders", json=order(caller=CALLER))
        assert accepted.status_code == 202, accepted.text
        assert "13900001111" not in accepted.text
        wait_until(lambda: tax.payloads, what="delivery")
        view = client.get(f"/v1/work-orders/{accepted.json()['id']}")
    assert view.json()["work_order"]["caller"] == {
        "name": "李**",
        "phone": "139****1111",
        "id_number": "440***********123X",
        "confidential": False,
    }
    for secret in CALLER.values():
        assert secret not in view.text
    assert "13900001111" in json.dumps(tax.payloads[0], ensure_ascii=False)


def test_a_refused_intake_does_not_echo_the_callers_number(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack()
    bad = order(caller={"phone": "13900001111", "id_number": "4401061990"})
    with httpx.Client(base_url=stack.url) as client:
        refused = client.post("/v1/work-orders", json=bad)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "validation_error"
    assert "13900001111" not in refused.text and "4401061990" not in refused.text
