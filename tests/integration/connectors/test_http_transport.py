"""The HTTP/1.1 transport against real servers on loopback (uvicorn, and raw asyncio peers)."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from bench.world import free_port
from connectors.http_transport import Http11Transport
from connectors.rest import RestConnector
from connectors.simulators.server import ServerThread
from gateway.crypto import certs
from gateway.domain.errors import TransientDelivery
from gateway.domain.messages import Delivery
from gateway.mapping.profiles import AgencyProfile
from tests.integration.connectors.peers import Peer, RawPeer


@pytest.fixture
def peer() -> Peer:
    return Peer()


@pytest.fixture
def server(peer: Peer) -> Iterator[ServerThread]:
    with ServerThread(peer) as running:
        yield running


def client(
    max_connections: int = 4, ssl_context: ssl.SSLContext | None = None
) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=Http11Transport(max_connections, ssl_context))


async def test_several_requests_share_one_kept_alive_connection(
    server: ServerThread, peer: Peer
) -> None:
    async with client() as http:
        for n in range(5):
            response = await http.post(f"{server.url}/echo", content=b"body %d" % n)
            assert response.content == b"body %d" % n
    assert len(peer.client_ports) == 1


async def test_no_more_connections_than_the_pool_allows(server: ServerThread, peer: Peer) -> None:
    async with client(max_connections=2) as http:
        responses = await asyncio.gather(*[http.get(f"{server.url}/slow/0.1") for _ in range(6)])
    assert [r.status_code for r in responses] == [200] * 6
    assert (peer.peak, len(peer.client_ports)) == (2, 2)


async def test_a_request_waiting_longer_than_the_pool_timeout_fails(server: ServerThread) -> None:
    async with client(max_connections=1) as http:
        slow = asyncio.create_task(http.get(f"{server.url}/slow/0.5"))
        await asyncio.sleep(0.05)
        with pytest.raises(httpx.PoolTimeout):
            await http.get(f"{server.url}/echo", timeout=httpx.Timeout(5, pool=0.1))
        assert (await slow).status_code == 200


async def test_a_chunked_response_is_read_whole(server: ServerThread) -> None:
    async with client() as http:
        response = await http.get(f"{server.url}/chunked")
    assert response.headers["transfer-encoding"] == "chunked"
    assert response.content == b"one,two,three"


async def test_a_streamed_request_body_is_sent_chunked(server: ServerThread) -> None:
    async def pieces() -> AsyncIterator[bytes]:
        for piece in (b"alpha ", b"beta"):
            yield piece

    async with client() as http:
        response = await http.post(f"{server.url}/echo", content=pieces())
    assert response.content == b"alpha beta"


async def test_a_head_response_ends_at_its_headers_and_the_connection_is_reused(
    server: ServerThread, peer: Peer
) -> None:
    async with client() as http:
        head = await http.head(f"{server.url}/status/200", timeout=2)
        get = await http.post(f"{server.url}/echo", content=b"after head")
    assert (head.headers["content-length"], head.content, get.content) == ("9", b"", b"after head")
    assert len(peer.client_ports) == 1


async def test_error_statuses_keep_their_bodies(server: ServerThread) -> None:
    async with client() as http:
        unavailable = await http.get(f"{server.url}/status/503")
        missing = await http.get(f"{server.url}/status/404")
    assert (unavailable.status_code, unavailable.text) == (503, "维护中")
    assert (missing.status_code, missing.text) == (404, "维护中")


async def test_a_connection_close_response_is_not_reused_even_if_the_socket_stays_open() -> None:
    async def answer_and_linger(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:  # answers every request, though it announced it would close
            await raw.read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 3\r\n\r\nbye")

    raw = RawPeer(answer_and_linger)
    async with raw as url, client() as http:
        for _ in range(2):
            assert (await http.get(url)).content == b"bye"
    assert (raw.connections, raw.requests) == (2, 2)


async def test_an_idle_connection_the_server_closed_is_replaced(peer: Peer) -> None:
    running = ServerThread(peer)
    running.server.config.timeout_keep_alive = 0.1  # type: ignore[assignment]
    with running:
        async with client() as http:
            assert (await http.post(f"{running.url}/echo", content=b"1")).content == b"1"
            await asyncio.sleep(0.5)  # uvicorn closes the idle connection meanwhile
            assert (await http.post(f"{running.url}/echo", content=b"2")).content == b"2"
    assert len(peer.client_ports) == 2


async def test_a_server_dying_mid_response_is_a_protocol_error_not_a_hang(
    server: ServerThread,
) -> None:
    async with client() as http, asyncio.timeout(5):
        with pytest.raises(httpx.RemoteProtocolError, match="complete message body"):
            await http.get(f"{server.url}/break")


async def test_a_refused_connection_is_a_connect_error() -> None:
    async with client() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{free_port()}/")


async def test_a_silent_server_is_a_read_timeout(server: ServerThread) -> None:
    started = time.monotonic()
    async with client() as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get(f"{server.url}/slow/2", timeout=0.2)
    assert time.monotonic() - started < 1.5


async def test_a_server_that_stops_reading_is_a_write_timeout() -> None:
    async def never_read(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(10)

    big = b"x" * 64_000_000  # more than both sockets' buffers hold
    async with RawPeer(never_read) as url, client() as http:
        with pytest.raises(httpx.WriteTimeout):
            await http.post(url, content=big, timeout=httpx.Timeout(5, write=0.3))


async def test_a_close_delimited_body_ends_at_eof() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await raw.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end")

    raw = RawPeer(answer)
    async with raw as url, client() as http:
        first = await http.get(url)
        second = await http.get(url)
    assert first.content == second.content == b"until the end"
    assert raw.connections == 2


async def test_a_request_on_a_connection_closed_under_it_is_sent_again_on_a_fresh_one() -> None:
    async def answer_once_then_close(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await raw.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await raw.read_request(reader)  # the kept-alive connection's next request: dropped

    raw = RawPeer(answer_once_then_close)
    async with raw as url, client() as http:
        assert (await http.get(url)).content == b"ok"
        assert (await http.get(url)).content == b"ok"
    assert (raw.connections, raw.requests) == (2, 3)


async def test_a_fresh_connection_closed_without_an_answer_is_not_retried() -> None:
    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await raw.read_request(reader)

    raw = RawPeer(drop)
    async with raw as url, client() as http:
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            await http.get(url)
    assert (raw.connections, raw.requests) == (1, 1)


@pytest.fixture
def tls_server(peer: Peer, tmp_path: Path) -> Iterator[tuple[ServerThread, Path]]:
    authority = certs.new_authority()
    certs.write_pair(tmp_path / "ca.pem", tmp_path / "ca.key", authority.cert, authority.key)
    certs.write_pair(tmp_path / "srv.pem", tmp_path / "srv.key", *authority.server([]))
    running = ServerThread(peer)
    running.server.config.ssl_certfile = str(tmp_path / "srv.pem")
    running.server.config.ssl_keyfile = str(tmp_path / "srv.key")
    with running:
        yield running, tmp_path / "ca.pem"


async def test_https_with_the_ca_passed_in_the_ssl_context(
    tls_server: tuple[ServerThread, Path], peer: Peer
) -> None:
    running, ca = tls_server
    url = running.url.replace("http://", "https://")
    async with client(ssl_context=ssl.create_default_context(cafile=ca)) as http:
        for _ in range(2):
            assert (await http.post(f"{url}/echo", content=b"secret")).content == b"secret"
    assert len(peer.client_ports) == 1


async def test_https_refuses_a_certificate_outside_the_default_trust(
    tls_server: tuple[ServerThread, Path],
) -> None:
    url = tls_server[0].url.replace("http://", "https://")
    async with client() as http:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await http.get(f"{url}/echo")


async def test_closing_the_transport_closes_every_connection(server: ServerThread) -> None:
    transport = Http11Transport(max_connections=2)
    async with httpx.AsyncClient(transport=transport) as http:
        await asyncio.gather(*[http.get(f"{server.url}/slow/0.05") for _ in range(2)])
        connections = [c for pool in transport._pools.values() for c in pool.open]
    await asyncio.sleep(0.05)
    assert len(connections) == 2
    assert all(c.transport is None for c in connections)


async def test_the_rest_connector_delivers_over_this_transport_by_default(
    server: ServerThread, peer: Peer
) -> None:
    profile = AgencyProfile(id="tax", name="税务", transport="rest", endpoint=server.url)
    connector = RestConnector(profile)
    assert isinstance(connector.transport, Http11Transport)
    delivery = Delivery("msg_1", "tax", f"{server.url}/echo", b'{"id":"T-1"}', {}, 2.0)
    try:
        receipts = [await connector.deliver(delivery) for _ in range(3)]
    finally:
        await connector.aclose()
    assert [r.agency_ref for r in receipts] == ["T-1"] * 3
    assert len(peer.client_ports) == 1


async def test_the_rest_connector_gives_up_at_the_deliverys_timeout(
    server: ServerThread, peer: Peer
) -> None:
    profile = AgencyProfile(id="tax", name="税务", transport="rest", endpoint=server.url)
    connector = RestConnector(profile)
    slow = Delivery("msg_1", "tax", f"{server.url}/slow/5", b"{}", {}, 0.3)
    started = time.perf_counter()
    try:
        with pytest.raises(TransientDelivery, match=r"timed out after 0\.3s"):
            await connector.deliver(slow)
    finally:
        await connector.aclose()
    assert time.perf_counter() - started < 2.0
