"""The load generator: a minimal HTTP/1.1 keep-alive client on raw asyncio streams.

httpx costs about as much CPU per request as the servers under test, which would make
the generator the bottleneck on a 2-core machine. This client only writes a prepared
request and reads a Content-Length response, and reports the CPU it used itself so a
run can show it was not saturated. Closed loop: a fixed number of requests at a bounded
concurrency (throughput). Open loop: requests sent on a fixed schedule whatever the
server does (latency at an offered rate; a slow server does not slow the schedule).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Sent:
    """One request: its key, when it was due (wall clock), its status and its latency."""

    key: str
    due_wall: float
    status: int
    seconds: float


@dataclass
class LoadResult:
    """What one load run did, and what it cost the generator."""

    sent: list[Sent] = field(default_factory=list)
    wall: float = 0.0
    cpu: float = 0.0

    @property
    def ok(self) -> list[Sent]:
        """Requests answered 2xx."""
        return [s for s in self.sent if 200 <= s.status < 300]

    @property
    def rate(self) -> float:
        """Answered 2xx per second of the run."""
        return len(self.ok) / self.wall if self.wall else 0.0

    @property
    def cpu_share(self) -> float:
        """The generator's CPU time over the run's wall time (1.0 = one core saturated)."""
        return self.cpu / self.wall if self.wall else 0.0


def post(path: str, payload: dict[str, Any], port: int) -> bytes:
    """A complete HTTP/1.1 POST with a JSON body, ready to write."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class Connection:
    """One keep-alive connection; one request at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        """Connect to 127.0.0.1:port."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, request: bytes) -> int:
        """Write the request, read the whole response, return its status code."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        """Close the socket."""
        self.writer.close()


class Pool:
    """Connections to one port, opened on demand and reused, at most `limit` at once
    (a request waiting for one still counts its latency from its due time)."""

    def __init__(self, port: int, limit: int = 512) -> None:
        self.port = port
        self.idle: list[Connection] = []
        self.opened: list[Connection] = []
        self.slots = asyncio.Semaphore(limit)

    async def send(self, request: bytes) -> int:
        """Send on an idle connection (or a new one, up to the limit; beyond it, wait)."""
        async with self.slots:
            return await self._send(request)

    async def _send(self, request: bytes) -> int:
        """A reused connection the server closed meanwhile (uvicorn closes idle ones after
        5 s) is retried once on a new one, as HTTP clients do; otherwise a broken
        connection answers status 0."""
        if self.idle:
            status = await self._on(self.idle.pop(), request)
            if status:
                return status
        return await self._on(await self._open(), request)

    async def _on(self, conn: Connection, request: bytes) -> int:
        try:
            status = await conn.send(request)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            conn.close()
            return 0
        self.idle.append(conn)
        return status

    async def _open(self) -> Connection:
        conn = await Connection.open(self.port)
        self.opened.append(conn)
        return conn

    def close(self) -> None:
        """Close every connection."""
        for conn in self.opened:
            conn.close()


async def _timed(pool: Pool, key: str, request: bytes, due: float, wall: float) -> Sent:
    try:
        status = await pool.send(request)
    except OSError:
        status = 0
    return Sent(key, wall, status, time.perf_counter() - due)


async def closed_loop(
    port: int | Sequence[int], requests: Iterable[tuple[str, bytes]], concurrency: int
) -> LoadResult:
    """Send every request, `concurrency` at a time, as fast as the server answers.

    Given several ports (gateways sharing one database), the workers take turns."""
    ports = [port] if isinstance(port, int) else list(port)
    pools, result, queue = [Pool(p) for p in ports], LoadResult(), iter(requests)
    cpu, started = time.process_time(), time.perf_counter()

    async def worker(pool: Pool) -> None:
        for key, request in queue:
            now = time.perf_counter()
            result.sent.append(await _timed(pool, key, request, now, time.time()))

    await asyncio.gather(*(worker(pools[n % len(pools)]) for n in range(concurrency)))
    result.wall, result.cpu = time.perf_counter() - started, time.process_time() - cpu
    for pool in pools:
        pool.close()
    return result


async def open_loop(
    port: int, make: Callable[[int], tuple[str, bytes]], rate: float, seconds: float
) -> LoadResult:
    """Send `make(n)` at `rate` per second for `seconds`; latency counts from the due time."""
    pool, result = Pool(port), LoadResult()
    tasks: list[asyncio.Task[Sent]] = []
    cpu, started, wall0 = time.process_time(), time.perf_counter(), time.time()
    for n in range(int(rate * seconds)):
        due = started + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        key, request = make(n)
        tasks.append(asyncio.create_task(_timed(pool, key, request, due, wall0 + n / rate)))
    result.sent = list(await asyncio.gather(*tasks))
    result.wall, result.cpu = time.perf_counter() - started, time.process_time() - cpu
    pool.close()
    return result
