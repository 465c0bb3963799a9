"""An oversized body gets its 413 (a SOAP Fault on /soap/…) however the client sends it,
including clients that write the whole body before reading the answer (urllib, most SOAP
stacks): the gateway reads and discards the rest before answering, so no reset."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from urllib.parse import urlparse

import pytest

from tests.conftest import Stack

MIB = 1024 * 1024
PATHS = ["/v1/inbound/tax-12366", "/soap/police-110", "/v1/work-orders"]


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """SQLite only: the limit is in the HTTP layer, before any database work."""
    return sqlite_url


@pytest.fixture
def stack(make_stack: Callable[..., Stack]) -> Stack:
    return make_stack()


def whole_body_then_read(url: str, path: str, body: bytes, chunked: bool = False) -> bytes:
    """Write the request line, headers and every byte of the body, only then read."""
    where = urlparse(url)
    framing = b"transfer-encoding: chunked" if chunked else b"content-length: %d" % len(body)
    head = b"POST %s HTTP/1.1\r\nhost: %s\r\ncontent-type: application/json\r\n%s\r\n\r\n" % (
        path.encode(),
        where.netloc.encode(),
        framing,
    )
    if chunked:
        step = 256 * 1024
        parts = [
            b"%x\r\n%s\r\n" % (len(body[i : i + step]), body[i : i + step])
            for i in range(0, len(body), step)
        ]
        body = b"".join(parts) + b"0\r\n\r\n"
    with socket.create_connection((where.hostname, where.port), timeout=60) as sock:
        sock.sendall(head + body)
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer) < answer.index(b"\r\n\r\n") + 60:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    return answer


@pytest.mark.parametrize("size", [6 * MIB, 18 * MIB], ids=["6MiB", "18MiB"])
def test_a_client_writing_the_whole_body_first_gets_the_413(stack: Stack, size: int) -> None:
    for path in PATHS:
        answer = whole_body_then_read(stack.url, path, b"x" * size)
        assert answer.startswith(b"HTTP/1.1 413 "), (path, answer[:200])
        expected = b"soap:Client" if path.startswith("/soap/") else b'"payload_too_large"'
        assert expected in answer, (path, answer[:400])


def test_a_chunked_body_without_a_length_gets_the_413(stack: Stack) -> None:
    for path in PATHS:
        answer = whole_body_then_read(stack.url, path, b"x" * (6 * MIB), chunked=True)
        assert answer.startswith(b"HTTP/1.1 413 "), (path, answer[:200])


@pytest.mark.parametrize("size", [6 * MIB, 18 * MIB], ids=["6MiB", "18MiB"])
def test_urllib_gets_the_413(stack: Stack, size: int) -> None:
    for path in PATHS:
        request = urllib.request.Request(
            stack.url + path, data=b"x" * size, headers={"content-type": "text/xml"}
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=60)
        assert refused.value.code == 413, path
