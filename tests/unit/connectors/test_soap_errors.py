from __future__ import annotations

import pytest
from zeep.exceptions import Fault, TransportError, ValidationError

from connectors.http.errors import exchange_failed, timed_out
from connectors.soap.connector import _delivery_error, _receipt
from gateway.domain.errors import PermanentDelivery, TransientDelivery


class Outcome:
    def __init__(self, code: int, message: str = "", **extra: str) -> None:
        self.Code, self.Message = code, message
        for key, value in extra.items():
            setattr(self, key, value)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (Fault("bad request", code="soap:Client"), PermanentDelivery),
        (Fault("database down", code="soap:Server"), TransientDelivery),
        (TransportError(status_code=503), TransientDelivery),
        (TransportError(status_code=429), TransientDelivery),
        (TransportError(status_code=404), PermanentDelivery),
        (exchange_failed(ConnectionRefusedError("refused")), TransientDelivery),
        (ValidationError("Missing element JJDBH"), PermanentDelivery),
    ],
)
def test_library_errors_become_typed_delivery_errors(error: Exception, kind: type) -> None:
    assert type(_delivery_error(error)) is kind


def test_a_timeout_is_transient_but_not_throttling() -> None:
    translated = _delivery_error(timed_out(10))
    assert isinstance(translated, TransientDelivery) and not translated.throttled


def test_a_410_disables_the_agency() -> None:
    translated = _delivery_error(TransportError(status_code=410))
    assert isinstance(translated, PermanentDelivery) and translated.disable


def test_result_code_zero_is_a_receipt_with_the_case_number() -> None:
    receipt = _receipt("TransferCase", Outcome(0, "ok", JJDBH="J1"), "d" * 64)
    assert (receipt.agency_ref, receipt.details["operation"]) == ("J1", "TransferCase")


def test_result_code_one_already_received_counts_as_delivered() -> None:
    assert _receipt("Callback", Outcome(1, "重复"), None).status_code == 200


def test_result_code_nine_is_busy_and_retried() -> None:
    with pytest.raises(TransientDelivery, match="busy"):
        _receipt("Callback", Outcome(9, "忙"), None)


def test_another_result_code_is_a_refusal() -> None:
    with pytest.raises(PermanentDelivery, match="code 3"):
        _receipt("TransferCase", Outcome(3, "字段不合法"), None)
