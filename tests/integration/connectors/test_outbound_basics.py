"""The outbound HTTP client's everyday behaviour against uvicorn on loopback: keep-alive,
connection limits, chunked answers, HTTPS trust, refusals, error bodies."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.world import free_port
from connectors.http.client import OutboundClient
from connectors.simulators.server import ServerThread, ServerTls
from gateway.crypto import certs
from gateway.domain.errors import TransientDelivery
from gateway.mapping.profiles import HttpPolicy, HttpTls
from tests.integration.connectors.peers import Peer


@pytest.fixture
def peer() -> Peer:
    return Peer()


@pytest.fixture
def server(peer: Peer) -> Iterator[ServerThread]:
    with ServerThread(peer) as running:
        yield running


async def post(client: OutboundClient, url: str, body: bytes = b"{}") -> tuple[int, bytes]:
    answer = await client.send("POST", url, body, {"content-type": "application/json"}, 5.0)
    return answer.status, answer.content


async def test_several_deliveries_share_one_kept_alive_connection(
    server: ServerThread, peer: Peer
) -> None:
    client = OutboundClient(HttpPolicy(), 4)
    try:
        for n in range(3):
            assert await post(client, f"{server.url}/echo", b"%d" % n) == (200, b"%d" % n)
    finally:
        await client.aclose()
    assert len(peer.client_ports) == 1


async def test_no_more_connections_than_the_agency_allows(server: ServerThread, peer: Peer) -> None:
    client = OutboundClient(HttpPolicy(max_connections=2), 8)
    try:
        await asyncio.gather(*[post(client, f"{server.url}/slow/0.1") for _ in range(6)])
    finally:
        await client.aclose()
    assert peer.peak == 2 and len(peer.client_ports) == 2


async def test_a_chunked_answer_is_read_whole(server: ServerThread) -> None:
    client = OutboundClient(HttpPolicy(), 1)
    try:
        assert await post(client, f"{server.url}/chunked") == (200, b"one,two,three")
    finally:
        await client.aclose()


async def test_an_error_answer_keeps_its_body(server: ServerThread) -> None:
    client = OutboundClient(HttpPolicy(), 1)
    try:
        assert await post(client, f"{server.url}/status/503") == (503, "维护中".encode())
    finally:
        await client.aclose()


async def test_a_refused_connection_is_transient() -> None:
    client = OutboundClient(HttpPolicy(), 1)
    try:
        with pytest.raises(TransientDelivery, match="ClientConnectorError"):
            await post(client, f"http://127.0.0.1:{free_port()}/echo")
    finally:
        await client.aclose()


@pytest.fixture
def tls_server(peer: Peer, tmp_path: Path) -> Iterator[tuple[ServerThread, Path]]:
    issued = certs.init(tmp_path, [])
    with ServerThread(peer, tls=ServerTls(issued.server_cert, issued.server_key)) as running:
        yield running, issued.ca


async def test_https_with_the_agencys_ca_bundle(tls_server: tuple[ServerThread, Path]) -> None:
    running, ca = tls_server
    client = OutboundClient(HttpPolicy(tls=HttpTls(ca=str(ca))), 1)
    try:
        assert await post(client, f"{running.url}/echo", b"secret") == (200, b"secret")
    finally:
        await client.aclose()


async def test_https_refuses_a_certificate_outside_the_system_trust(
    tls_server: tuple[ServerThread, Path],
) -> None:
    client = OutboundClient(HttpPolicy(), 1)
    try:
        with pytest.raises(TransientDelivery, match="CERTIFICATE_VERIFY_FAILED"):
            await post(client, f"{tls_server[0].url}/echo")
    finally:
        await client.aclose()
