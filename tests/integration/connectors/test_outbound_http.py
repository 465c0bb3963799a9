"""The outbound HTTP client against agencies that misbehave as government networks do.

Real servers on 127.0.0.1: a connection a NAT drops silently, an agency closing idle
connections, a silent agency, proxies, mutual TLS, oversized and dripping answers. Each
runs through the REST connector, so what is checked is what a delivery meets.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.http.rest import RestConnector
from connectors.simulators.mutual_tls import MutualTlsAgency
from gateway.crypto import certs
from gateway.domain.errors import TransientDelivery
from gateway.domain.messages import Delivery
from gateway.mapping.profiles import AgencyProfile, HttpPolicy, HttpTls, RetryPolicy
from gateway.service.delivery.fencing import deadline_passed
from gateway.service.delivery.retry import next_delay
from tests.integration.connectors.peers import ForwardProxy, RawPeer

OK = (
    b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 13\r\n\r\n{"id":"A-1"}\n'
)
NO_JITTER = lambda low, high: (low + high) / 2  # noqa: E731


def connector(url: str, **http: object) -> RestConnector:
    policy = HttpPolicy.model_validate(http)
    return RestConnector(
        AgencyProfile(id="tax", name="税务", transport="rest", endpoint=url, http=policy)
    )


def delivery(url: str, timeout: float = 5.0, handoff: str = "msg_1") -> Delivery:
    return Delivery(handoff, "tax", url, b'{"flow_id":"F-1"}', {"webhook-id": handoff}, timeout)


async def answering(
    peer: RawPeer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Answer every request on this connection, keeping it alive."""
    while True:
        try:
            await peer.read_request(reader)
        except asyncio.IncompleteReadError:
            return
        writer.write(OK)
        await writer.drain()


async def test_a_silently_dropped_idle_connection_costs_no_more_than_one_connect_timeout() -> None:
    async def nat(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if peer.connections > 1:
            return await answering(peer, reader, writer)
        await peer.read_request(reader)  # the first connection answers once, then the NAT
        writer.write(OK)  # forgets it: whatever comes later is swallowed, nothing answers
        await asyncio.sleep(30)

    peer = RawPeer(nat)
    async with peer as url:
        agency = connector(url, idle_seconds=0.3, connect_timeout=1.0)
        try:
            await agency.deliver(delivery(url))
            await asyncio.sleep(0.6)  # idle past `idle_seconds`: the NAT dropped it by now
            started = time.monotonic()
            receipt = await agency.deliver(delivery(url, handoff="msg_2"))
        finally:
            await agency.aclose()
    assert receipt.agency_ref == "A-1"
    assert time.monotonic() - started < 1.0  # the connect timeout; a reuse waits 5 s
    assert peer.connections == 2


async def test_an_idle_connection_the_agency_closed_costs_no_timeout() -> None:
    async def closing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await peer.read_request(reader)
        writer.write(OK)
        await writer.drain()
        await asyncio.sleep(0.1)  # the agency's own keep-alive expiry: it closes (FIN)

    peer = RawPeer(closing)
    async with peer as url:
        agency = connector(url)
        try:
            await agency.deliver(delivery(url))
            await asyncio.sleep(0.4)
            started = time.monotonic()
            await agency.deliver(delivery(url, handoff="msg_2"))
        finally:
            await agency.aclose()
    assert time.monotonic() - started < 0.5
    assert peer.connections == 2


async def test_a_plain_timeout_is_retried_on_the_schedule_not_as_throttling() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await peer.read_request(reader)
        await asyncio.sleep(30)

    peer = RawPeer(silent)
    async with peer as url:
        agency = connector(url)
        try:
            with pytest.raises(TransientDelivery) as caught:
                await agency.deliver(delivery(url, timeout=0.3))
        finally:
            await agency.aclose()
    policy = RetryPolicy()  # schedule 0, 5, 300 …; throttle floor 60 s
    assert not caught.value.throttled
    assert next_delay(policy, 1, caught.value, NO_JITTER) == 5
    cut = deadline_passed(22.5, 30.0, sent=True)
    assert next_delay(policy, 1, cut, NO_JITTER) == 5


async def test_an_oversized_answer_is_cut_at_its_limit_and_retried() -> None:
    async def huge(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await peer.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        for _ in range(1000):  # 64 MB if read whole; no content-length to refuse up front
            writer.write(b"10000\r\n" + b"x" * 65536 + b"\r\n")
            await writer.drain()

    peer = RawPeer(huge)
    async with peer as url:
        agency = connector(url, max_response_bytes=4096)
        started = time.monotonic()
        try:
            with pytest.raises(TransientDelivery, match="over the 4096-byte limit") as caught:
                await agency.deliver(delivery(url))
        finally:
            await agency.aclose()
    assert time.monotonic() - started < 1.0
    assert caught.value.retryable and next_delay(RetryPolicy(), 1, caught.value) is not None


async def test_an_answer_declaring_too_many_bytes_is_refused_before_reading_it() -> None:
    async def declared(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await peer.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10000000\r\n\r\n")
        await asyncio.sleep(30)

    peer = RawPeer(declared)
    async with peer as url:
        agency = connector(url, max_response_bytes=4096)
        try:
            with pytest.raises(TransientDelivery, match="4096-byte limit"):
                await agency.deliver(delivery(url))
        finally:
            await agency.aclose()


async def test_a_dripping_answer_is_cut_at_the_deliverys_deadline() -> None:
    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await peer.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 40\r\n\r\n")
        for _ in range(40):  # one byte every 0.1 s: never silent for a read timeout
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.1)

    peer = RawPeer(drip)
    async with peer as url:
        agency = connector(url)
        started = time.monotonic()
        try:
            with pytest.raises(TransientDelivery, match=r"within 0\.5 s") as caught:
                await agency.deliver(delivery(url, timeout=0.5))
        finally:
            await agency.aclose()
    assert time.monotonic() - started < 1.5  # the whole drip takes 4 s
    assert not caught.value.throttled


@pytest.fixture
def issued(tmp_path: Path) -> certs.Issued:
    return certs.init(tmp_path / "certs", ["tax"])


@pytest.fixture
def mtls_agency(issued: certs.Issued) -> Iterator[MutualTlsAgency]:
    with MutualTlsAgency(issued) as agency:
        yield agency


def mtls(issued: certs.Issued, client_certificate: bool = True) -> dict[str, object]:
    if not client_certificate:
        return {"tls": HttpTls(ca=str(issued.ca))}
    return {
        "tls": HttpTls(
            ca=str(issued.ca), cert=str(issued.outbound_cert), key=str(issued.outbound_key)
        )
    }


async def test_an_agency_demanding_a_client_certificate_takes_the_delivery_with_it(
    issued: certs.Issued, mtls_agency: MutualTlsAgency
) -> None:
    agency = connector(mtls_agency.url, **mtls(issued))
    try:
        receipt = await agency.deliver(delivery(mtls_agency.url))
    finally:
        await agency.aclose()
    assert receipt.agency_ref == "MTLS-000001"
    assert mtls_agency.received == ["msg_1"]


async def test_an_agency_demanding_a_client_certificate_refuses_a_delivery_without_one(
    issued: certs.Issued, mtls_agency: MutualTlsAgency
) -> None:
    agency = connector(mtls_agency.url, **mtls(issued, client_certificate=False))
    try:
        with pytest.raises(TransientDelivery):
            await agency.deliver(delivery(mtls_agency.url))
    finally:
        await agency.aclose()
    assert mtls_agency.received == []


async def test_a_delivery_goes_through_the_agencys_proxy() -> None:
    proxy = ForwardProxy()
    answering_peer = RawPeer(lambda r, w: answering(answering_peer, r, w))
    async with proxy as proxy_url, answering_peer as url:
        agency = connector(url, proxy=proxy_url)
        try:
            receipt = await agency.deliver(delivery(f"{url}/orders"))
        finally:
            await agency.aclose()
    assert receipt.agency_ref == "A-1"
    assert proxy.seen == [f"POST {url}/orders HTTP/1.1"]


async def test_mutual_tls_goes_through_a_proxy_as_a_connect_tunnel(
    issued: certs.Issued, mtls_agency: MutualTlsAgency
) -> None:
    proxy = ForwardProxy()
    async with proxy as proxy_url:
        agency = connector(mtls_agency.url, proxy=proxy_url, **mtls(issued))
        try:
            await agency.deliver(delivery(mtls_agency.url))
        finally:
            await agency.aclose()
    assert proxy.seen == [f"CONNECT {mtls_agency.url.removeprefix('https://')} HTTP/1.1"]
    assert mtls_agency.received == ["msg_1"]


async def test_the_standard_proxy_variables_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = ForwardProxy()
    answering_peer = RawPeer(lambda r, w: answering(answering_peer, r, w))
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    async with proxy as proxy_url, answering_peer as url:
        monkeypatch.setenv("HTTP_PROXY", proxy_url)
        for bypass in ("", "127.0.0.1"):  # read when a client first meets the origin
            monkeypatch.setenv("NO_PROXY", bypass)
            agency = connector(url)
            try:
                await agency.deliver(delivery(url))
            finally:
                await agency.aclose()
    assert proxy.seen == [f"POST {url} HTTP/1.1"]  # the second went direct


async def test_a_request_the_agency_closed_the_connection_under_is_sent_again_at_once() -> None:
    async def expiring(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if peer.connections > 1:
            return await answering(peer, reader, writer)
        await peer.read_request(reader)
        writer.write(OK)
        await peer.read_request(reader)  # the agency expires the connection as this arrives

    peer = RawPeer(expiring)
    async with peer as url:
        agency = connector(url)
        try:
            await agency.deliver(delivery(url))
            receipt = await agency.deliver(delivery(url, handoff="msg_2"))
        finally:
            await agency.aclose()
    assert receipt.agency_ref == "A-1"
    assert (peer.connections, peer.requests) == (2, 3)
