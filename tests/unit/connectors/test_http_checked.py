"""`connectors.http.errors.checked`: the one reading of an HTTP answer for REST and portals."""

from __future__ import annotations

import pytest

from connectors.http.client import Answer
from connectors.http.errors import checked
from gateway.domain.errors import PermanentDelivery, TransientDelivery


class Undecodable(Answer):
    """An answer whose body must not be decoded (a 2xx's is never needed as text)."""

    @property
    def text(self) -> str:
        raise AssertionError("the body of a 2xx answer was decoded")


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_a_2xx_is_passed_on_as_it_is_without_decoding_its_body(status: int) -> None:
    answer = Undecodable(status, {}, b"\xff" * 10)
    assert checked(answer) is answer


def test_a_503_with_retry_after_is_transient_and_throttled() -> None:
    with pytest.raises(TransientDelivery) as caught:
        checked(Answer(503, {"retry-after": "30"}, "维护中".encode()))
    error = caught.value
    assert (error.message, error.status_code) == ("HTTP 503: 维护中", 503)
    assert error.throttled and error.retry_after == 30


@pytest.mark.parametrize("status", [408, 409, 425, 500, 502])
def test_retryable_answers_are_transient_and_not_throttled(status: int) -> None:
    with pytest.raises(TransientDelivery) as caught:
        checked(Answer(status, {}, b"busy"))
    assert caught.value.status_code == status and not caught.value.throttled


def test_a_410_is_permanent_and_disables_the_endpoint() -> None:
    with pytest.raises(PermanentDelivery) as caught:
        checked(Answer(410, {}, b"gone"))
    assert caught.value.disable and caught.value.message == "HTTP 410: gone"


def test_other_4xx_are_permanent_and_keep_the_endpoint() -> None:
    with pytest.raises(PermanentDelivery) as caught:
        checked(Answer(404, {}, b"x" * 300))
    assert not caught.value.disable and caught.value.message == "HTTP 404: " + "x" * 200
