"""The load generator against the real loopback agency (a uvicorn child process)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.loadgen import Pool, closed_loop, open_loop, post
from bench.world import Child, free_port, python_child


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[Child]:
    child = python_child("bench.sink", free_port(), tmp_path / "sink.log")
    try:
        child.wait_ready("/counts")
        yield child
    finally:
        child.stop()


def delivery(port: int, flow_id: str) -> tuple[str, bytes]:
    return flow_id, post("/orders", {"type": "work_order.transfer", "flow_id": flow_id}, port)


def test_closed_loop_sends_every_request_and_the_agency_notes_each_arrival(sink: Child) -> None:
    requests = (delivery(sink.port, f"F-{n}") for n in range(300))
    result = asyncio.run(closed_loop(sink.port, requests, 8))
    assert [s.status for s in result.sent] == [200] * 300
    arrivals = httpx.get(f"{sink.url}/arrivals").json()
    assert set(arrivals) == {f"F-{n}" for n in range(300)}
    assert 0 < result.cpu_share < 1.5


def test_open_loop_keeps_its_schedule_and_counts_latency_from_the_due_time(sink: Child) -> None:
    started = time.perf_counter()
    result = asyncio.run(
        open_loop(sink.port, lambda n: delivery(sink.port, f"O-{n}"), rate=200, seconds=1.0)
    )
    assert len(result.sent) == 200
    assert time.perf_counter() - started < 3.0
    dues = [s.due_wall for s in result.sent]
    assert dues == sorted(dues)
    assert dues[-1] - dues[0] == pytest.approx(199 / 200, abs=0.01)
    assert all(s.seconds > 0 for s in result.sent)


def test_a_down_agency_answers_503_until_it_is_up_again(sink: Child) -> None:
    httpx.post(f"{sink.url}/down").raise_for_status()
    down = asyncio.run(closed_loop(sink.port, [delivery(sink.port, "D-1")], 1))
    httpx.post(f"{sink.url}/up").raise_for_status()
    up = asyncio.run(closed_loop(sink.port, [delivery(sink.port, "D-2")], 1))
    assert [s.status for s in down.sent] == [503]
    assert [s.status for s in up.sent] == [200]
    assert list(httpx.get(f"{sink.url}/arrivals").json()) == ["D-2"]


def test_a_refused_connection_is_status_zero_not_an_exception() -> None:
    port = free_port()
    result = asyncio.run(closed_loop(port, [delivery(port, "X")], 1))
    assert [s.status for s in result.sent] == [0]


def test_a_pooled_connection_closed_meanwhile_is_retried_on_a_new_one(sink: Child) -> None:
    async def two_requests() -> list[int]:
        pool = Pool(sink.port)
        first = await pool.send(delivery(sink.port, "K-1")[1])
        pool.idle[0].writer.transport.abort()  # as when the server drops an idle connection
        second = await pool.send(delivery(sink.port, "K-2")[1])
        pool.close()
        return [first, second, len(pool.opened)]

    assert asyncio.run(two_requests()) == [200, 200, 2]


def test_the_agency_answers_arrivals_only_for_the_flow_ids_asked(sink: Child) -> None:
    asyncio.run(closed_loop(sink.port, [delivery(sink.port, f"A-{n}") for n in range(3)], 1))
    asked = httpx.post(f"{sink.url}/arrivals", json=["A-0", "A-2", "never-sent"]).json()
    assert set(asked) == {"A-0", "A-2"}
    assert all(isinstance(at, float) for at in asked.values())


def test_the_sink_is_a_pull_board_with_no_new_letters(sink: Child) -> None:
    """The benchmark gateway polls the mayor's mailbox at the sink: an empty page, not a
    refused connection (whose failure handling would cost CPU in every run)."""
    page = httpx.get(f"{sink.url}/board/messages", params={"limit": "50"})
    assert page.status_code == 200
    assert page.json() == {"messages": [], "next_cursor": None}
