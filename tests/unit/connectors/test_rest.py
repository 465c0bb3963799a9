from __future__ import annotations

import httpx
import pytest
import respx

from connectors.http.rest import RestConnector
from gateway.domain.errors import PermanentDelivery, TransientDelivery
from gateway.domain.messages import Delivery
from gateway.mapping.profiles import AgencyProfile
from tests.fakes.http import TransportExchange

URL = "http://agency.test/orders"
PROFILE = AgencyProfile(id="tax", name="税务", transport="rest", endpoint=URL)
DELIVERY = Delivery("msg_1", "tax", URL, b'{"a":1}', {"webhook-id": "msg_1"}, 2.0)


@pytest.fixture
async def connector() -> RestConnector:
    # the default client is aiohttp, which respx does not patch: answer through respx's router
    return RestConnector(PROFILE, TransportExchange(httpx.MockTransport(respx.mock.async_handler)))


@respx.mock
async def test_a_2xx_is_a_receipt_with_the_agency_case_number(connector: RestConnector) -> None:
    route = respx.post(URL).respond(202, json={"id": "SW-000001"})
    receipt = await connector.deliver(DELIVERY)
    assert (receipt.status_code, receipt.agency_ref) == (202, "SW-000001")
    assert route.calls.last.request.headers["webhook-id"] == "msg_1"
    assert route.calls.last.request.headers["content-type"] == "application/json"


@respx.mock
async def test_a_5xx_is_transient(connector: RestConnector) -> None:
    respx.post(URL).respond(503, text="维护中")
    with pytest.raises(TransientDelivery) as caught:
        await connector.deliver(DELIVERY)
    assert caught.value.status_code == 503 and not caught.value.throttled


@respx.mock
async def test_a_429_is_throttled_and_carries_retry_after(connector: RestConnector) -> None:
    respx.post(URL).respond(429, headers={"Retry-After": "120"})
    with pytest.raises(TransientDelivery) as caught:
        await connector.deliver(DELIVERY)
    assert caught.value.throttled and caught.value.retry_after == 120


@pytest.mark.parametrize("status", [408, 409, 425])
@respx.mock
async def test_these_4xx_are_transient(connector: RestConnector, status: int) -> None:
    respx.post(URL).respond(status)
    with pytest.raises(TransientDelivery):
        await connector.deliver(DELIVERY)


@respx.mock
async def test_other_4xx_are_permanent(connector: RestConnector) -> None:
    respx.post(URL).respond(400, json={"error": "bad"})
    with pytest.raises(PermanentDelivery) as caught:
        await connector.deliver(DELIVERY)
    assert not caught.value.disable


@respx.mock
async def test_a_410_disables_the_endpoint(connector: RestConnector) -> None:
    respx.post(URL).respond(410)
    with pytest.raises(PermanentDelivery) as caught:
        await connector.deliver(DELIVERY)
    assert caught.value.disable


@respx.mock
async def test_a_timeout_is_transient_but_not_throttling(connector: RestConnector) -> None:
    respx.post(URL).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(TransientDelivery) as caught:
        await connector.deliver(DELIVERY)
    assert not caught.value.throttled


@respx.mock
async def test_a_503_with_retry_after_asks_us_to_slow_down(connector: RestConnector) -> None:
    respx.post(URL).respond(503, headers={"Retry-After": "30"})
    with pytest.raises(TransientDelivery) as caught:
        await connector.deliver(DELIVERY)
    assert caught.value.throttled and caught.value.retry_after == 30


@respx.mock
async def test_a_408_is_retried_but_not_throttling(connector: RestConnector) -> None:
    respx.post(URL).respond(408)
    with pytest.raises(TransientDelivery) as caught:
        await connector.deliver(DELIVERY)
    assert not caught.value.throttled


@respx.mock
async def test_a_refused_connection_is_transient(connector: RestConnector) -> None:
    respx.post(URL).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(TransientDelivery, match="ConnectError"):
        await connector.deliver(DELIVERY)
