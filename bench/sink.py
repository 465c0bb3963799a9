"""The loopback agency: acknowledges every delivery at once and notes when it arrived.

A bare ASGI app (no framework) so the agency side costs as little as possible: the
benchmarks measure the gateway, not the agency. It answers a delivery with a case
number, like a real agency, notes the order's `flow_id` and the wall-clock time it
arrived (the benchmark process reads them back to compute intake → agency latency), and
can be told to answer 503 to every delivery (`POST /down`, `POST /up`). Like a real 119,
it accepts each new incident with a signed status update (so the gateway's
acknowledgement watch does not escalate every benchmark emergency) when
BENCH_SINK_GATEWAY and BENCH_SINK_KEY are set. Run it with `python -m bench.sink PORT`.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import uvicorn

from gateway.crypto.signing import MessageSigner, parse_signing_key

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

FLOW_ID = re.compile(rb'"flow_id":\s*"([^"]+)"')
ORDER_ID = re.compile(rb'"order_id":\s*"([^"]+)"')
DELIVERY_PATHS = {"/orders", "/incidents"}


class Sink:
    """State of the loopback agency."""

    def __init__(self, gateway_url: str | None = None, key: str | None = None) -> None:
        self.arrivals: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self.down = False
        self.gateway_url = gateway_url
        self.signer = MessageSigner([parse_signing_key(key)]) if key else None
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        status, answer = self._answer(scope["method"], scope["path"], body)
        payload = json.dumps(answer).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(payload)),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    def _answer(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        if method == "GET" and path == "/arrivals":
            return 200, self.arrivals
        if method == "POST" and path == "/arrivals":
            return 200, self._held(body)
        if method == "GET" and path == "/counts":
            return 200, self.counts
        if method == "GET" and path == "/board/messages":  # a pull board with no new letters
            return 200, {"messages": [], "next_cursor": None}
        if method == "POST" and path in ("/down", "/up", "/reset"):
            self.down = path == "/down"
            if path == "/reset":
                self.arrivals, self.counts = {}, {}
            return 200, {"down": self.down}
        return self._delivery(path, body)

    def _held(self, body: bytes) -> dict[str, float]:
        """The arrivals of the flow_ids listed in `body` (a JSON array), those held so far.

        The benchmarks ask for the orders they sent: during a million-handoff drain the
        whole map is tens of megabytes, and serving it stalled deliveries."""
        wanted = json.loads(body)
        return {key: self.arrivals[key] for key in wanted if key in self.arrivals}

    def _delivery(self, path: str, body: bytes) -> tuple[int, Any]:
        if self.down:
            return 503, {"error": "down for maintenance"}
        self.counts[path] = self.counts.get(path, 0) + 1
        if path in DELIVERY_PATHS:
            found = FLOW_ID.search(body)
            if found and found.group(1).decode() not in self.arrivals:
                self.arrivals[found.group(1).decode()] = time.time()
                if path == "/incidents":
                    self._accept_later(body)
        return 200, {"id": f"CASE-{sum(self.counts.values()):08d}"}

    def _accept_later(self, body: bytes) -> None:
        order = ORDER_ID.search(body)
        if order is None or self.signer is None:
            return
        task = asyncio.create_task(self._accept(order.group(1).decode()))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _accept(self, order_id: str) -> None:
        """119's signed 'accepted' for one incident."""
        assert self.signer is not None
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=10)
        update = {
            "type": "status",
            "order_id": order_id,
            "status": "accepted",
            "occurred_at": datetime.now(UTC).isoformat(),
        }
        body = json.dumps(update).encode()
        headers = self.signer.headers(f"acc-{order_id}", body)
        await self._client.post(
            f"{self.gateway_url}/v1/inbound/fire-119",
            content=body,
            headers={"content-type": "application/json", **headers},
        )


async def read_body(receive: Receive) -> bytes:
    """The whole request body of an ASGI request."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def main() -> None:
    """Serve the sink on 127.0.0.1:PORT with the same uvicorn stack as `lianxin serve`."""
    sink = Sink(os.environ.get("BENCH_SINK_GATEWAY"), os.environ.get("BENCH_SINK_KEY"))
    uvicorn.run(
        sink, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False
    )


if __name__ == "__main__":
    main()
