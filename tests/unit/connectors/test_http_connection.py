from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from connectors.http_connection import Timeouts, serialise


async def test_a_request_is_one_buffer_of_request_line_headers_and_body() -> None:
    request = httpx.Request("POST", "http://agency.test/orders?x=1", content=b'{"a":1}')
    data = await serialise(request)
    head, body = data.split(b"\r\n\r\n")
    assert head.split(b"\r\n")[0] == b"POST /orders?x=1 HTTP/1.1"
    assert b"Host: agency.test" in head.split(b"\r\n")
    assert b"Content-Length: 7" in head.split(b"\r\n")
    assert body == b'{"a":1}'


async def test_a_streamed_body_goes_as_one_chunk_and_the_last_chunk() -> None:
    async def pieces() -> AsyncIterator[bytes]:
        yield b"ab"
        yield b"cdefghijklmnop"

    data = await serialise(httpx.Request("POST", "http://agency.test/", content=pieces()))
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head.split(b"\r\n")
    assert body == b"10\r\nabcdefghijklmnop\r\n0\r\n\r\n"


def test_timeouts_come_from_the_request_extensions() -> None:
    timeout = httpx.Timeout(5, connect=1, pool=0.5)
    request = httpx.Request("GET", "http://agency.test/", extensions={"timeout": timeout.as_dict()})
    assert Timeouts.of(request) == Timeouts(connect=1, read=5, write=5, pool=0.5)
