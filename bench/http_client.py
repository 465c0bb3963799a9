"""Client CPU per request: the outbound client (aiohttp) against httpx's and our old one.

Each POSTs the same JSON body to the same trivial uvicorn endpoint (`bench.ceiling`, a child
process) with the same concurrency: `connectors.http.client.OutboundClient` (what REST, SOAP
and portals use), httpx's default transport (httpcore), and the hand-written
`Http11Transport` the REST connector used before. The figure that matters is client CPU
per request: this process's CPU time (the server runs in another process) divided by the
requests sent. Runs alternate between the clients so that a neighbour's load on a shared
machine hits all alike. A last table prices the response parser alone: llhttp (httptools)
against h11.

`python -m bench.http_client [--requests 3000] [--concurrency 16] [--rounds 2] [--loop uvloop]`
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import h11
import httptools
import httpx

from bench.world import free_port, python_child
from connectors.http.client import OutboundClient
from connectors.http_transport import Http11Transport
from gateway.mapping.profiles import HttpPolicy

BODY = json.dumps({"flow_id": "x", **{f"field_{n}": "值" * 8 for n in range(16)}}).encode()
HEADERS = {"content-type": "application/json", "webhook-id": "msg_bench"}
WARMUP = 200
ANSWER = b'{"flow_id":"x","status":"received"}'
RESPONSE = (
    b"HTTP/1.1 202 Accepted\r\ndate: Fri, 27 Nov 2026 22:00:00 GMT\r\nserver: uvicorn\r\n"
    b"content-length: %d\r\ncontent-type: application/json\r\n\r\n%s" % (len(ANSWER), ANSWER)
)


class HttpxPoster:
    """POSTs through an `httpx.AsyncClient`."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def post(self, url: str) -> int:
        """One POST; its status."""
        return (await self.client.post(url, content=BODY, headers=HEADERS)).status_code

    async def aclose(self) -> None:
        """Close the client."""
        await self.client.aclose()


class OutboundPoster:
    """POSTs through the outbound client, as the REST connector does."""

    def __init__(self, concurrency: int) -> None:
        self.client = OutboundClient(HttpPolicy(), concurrency)

    async def post(self, url: str) -> int:
        """One POST; its status."""
        return (await self.client.send("POST", url, BODY, HEADERS, 10.0)).status

    async def aclose(self) -> None:
        """Close the client."""
        await self.client.aclose()


Poster = HttpxPoster | OutboundPoster


def httpx_default(concurrency: int) -> Poster:
    """httpx's own pool (httpcore)."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return HttpxPoster(httpx.AsyncClient(limits=limits))


def http11(concurrency: int) -> Poster:
    """The hand-written transport the REST connector used before the outbound client."""
    return HttpxPoster(httpx.AsyncClient(transport=Http11Transport(max_connections=concurrency)))


CLIENTS: dict[str, Callable[[int], Poster]] = {
    "OutboundClient (aiohttp)": OutboundPoster,
    "httpx default (httpcore)": httpx_default,
    "Http11Transport": http11,
}


async def measure(make: Callable[[int], Poster], url: str, n: int, conc: int) -> str:
    """Send `n` POSTs, `conc` at a time, after a warm-up; requests/s and CPU µs per request."""
    gate = asyncio.Semaphore(conc)

    async def one(client: Poster) -> None:
        async with gate:
            status = await client.post(url)
            assert status == 202, status

    client = make(conc)
    try:
        await asyncio.gather(*[one(client) for _ in range(WARMUP)])
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*[one(client) for _ in range(n)])
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        await client.aclose()
    return f"{n / wall:8.0f} req/s   client CPU {cpu / n * 1e6:6.0f} µs/request"


def parser_cost(rounds: int = 20000) -> dict[str, float]:
    """µs to parse one typical 202 response, with llhttp and with h11."""
    return {"httptools (llhttp)": _time(_parse_llhttp, rounds), "h11": _time(_parse_h11, rounds)}


def _time(parse: Callable[[], None], rounds: int) -> float:
    started = time.process_time()
    for _ in range(rounds):
        parse()
    return (time.process_time() - started) / rounds * 1e6


class _Sink:
    def on_header(self, name: bytes, value: bytes) -> None: ...
    def on_body(self, body: bytes) -> None: ...


def _parse_llhttp() -> None:
    httptools.HttpResponseParser(_Sink()).feed_data(RESPONSE)


def _parse_h11() -> None:
    connection = h11.Connection(h11.CLIENT)
    connection.send(h11.Request(method="POST", target="/", headers=[("host", "x")]))
    connection.receive_data(RESPONSE)
    while not isinstance(connection.next_event(), h11.EndOfMessage):
        pass


def run(coroutine: Coroutine[Any, Any, str], loop: str) -> str:
    """Run on a fresh event loop of the kind asked for."""
    if loop == "uvloop":
        import uvloop

        return uvloop.run(coroutine)
    return asyncio.run(coroutine)


def main(argv: list[str] | None = None) -> None:
    """Alternate the transports for `--rounds` rounds and print each run."""
    parser = argparse.ArgumentParser(prog="python -m bench.http_client")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    args = parser.parse_args(argv)
    port = free_port()
    sink = python_child("bench.ceiling", port, Path(tempfile.gettempdir()) / "bench-ceiling.log")
    try:
        sink.wait_ready("/docs")
        url = f"{sink.url}/v1/work-orders"
        print(f"{args.requests} POSTs, {args.concurrency} at a time, {args.loop}, {url}")
        for round_ in range(1, args.rounds + 1):
            for name, make in CLIENTS.items():
                result = run(measure(make, url, args.requests, args.concurrency), args.loop)
                print(f"round {round_}  {name:26} {result}")
    finally:
        sink.stop()
    for name, micros in parser_cost().items():
        print(f"parse one response  {name:20} {micros:6.1f} µs")


if __name__ == "__main__":
    main(sys.argv[1:])
