"""Client CPU per request: the outbound client (aiohttp) against httpx's default transport.

Both POST the same JSON body to the same trivial uvicorn endpoint (`bench.ceiling`, a child
process) with the same concurrency: `connectors.http.client.OutboundClient` (what REST, SOAP
and portals use) and httpx's default transport (httpcore). The figure that matters is
client CPU per request: this process's CPU time (the server runs in another process)
divided by the requests sent. Runs alternate between the clients so that a neighbour's load
on a shared machine hits both alike. (The hand-written `Http11Transport` this replaced was
measured with the same program before it was retired: docs/performance.md.)

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

import httpx

from bench.world import free_port, python_child
from connectors.http.client import OutboundClient
from gateway.mapping.profiles import HttpPolicy

BODY = json.dumps({"flow_id": "x", **{f"field_{n}": "值" * 8 for n in range(16)}}).encode()
HEADERS = {"content-type": "application/json", "webhook-id": "msg_bench"}
WARMUP = 200


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


CLIENTS: dict[str, Callable[[int], Poster]] = {
    "OutboundClient (aiohttp)": OutboundPoster,
    "httpx default (httpcore)": httpx_default,
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


if __name__ == "__main__":
    main(sys.argv[1:])
