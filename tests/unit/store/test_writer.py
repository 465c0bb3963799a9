"""The database writer lets urgent work overtake queued normal work."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from gateway.store.writer import PriorityWriter


def test_urgent_jobs_overtake_queued_normal_ones() -> None:
    writer = PriorityWriter("t", urgent_lane=False)
    gate, ran = threading.Event(), list[str]()
    blocker = writer.submit(gate.wait)  # holds the only thread until released
    normal = [writer.submit(ran.append, f"normal-{n}") for n in range(3)]
    urgent = writer.submit(ran.append, "urgent", urgent=True)
    gate.set()
    for future in [blocker, *normal, urgent]:
        future.result(5)
    writer.shutdown()
    assert ran == ["urgent", "normal-0", "normal-1", "normal-2"]


def test_with_two_threads_one_is_kept_for_urgent_work() -> None:
    writer = PriorityWriter("t", urgent_lane=True)
    gate = threading.Event()
    busy = [writer.submit(gate.wait) for _ in range(2)]  # normal work holds its thread(s)
    assert writer.submit(lambda: "done", urgent=True).result(5) == "done"
    gate.set()
    for future in busy:
        future.result(5)
    writer.shutdown()


def test_errors_reach_the_caller_and_shutdown_finishes_the_queue() -> None:
    writer = PriorityWriter("t", urgent_lane=False)
    failing = writer.submit(lambda: 1 / 0)
    queued = writer.submit(lambda: "kept")
    writer.shutdown()
    with pytest.raises(ZeroDivisionError):
        failing.result(5)
    assert queued.result(5) == "kept"
    with pytest.raises(RuntimeError, match="shut down"):
        writer.submit(lambda: None)


def test_wait_idle_returns_once_every_submitted_job_has_ended() -> None:
    writer = PriorityWriter("t", urgent_lane=True, writers=2)
    gate, ran = threading.Event(), list[str]()
    running = writer.submit(lambda: (gate.wait(), ran.append("slow")))
    queued = writer.submit(ran.append, "queued")
    idle = threading.Event()
    waiter = threading.Thread(target=lambda: (writer.wait_idle(), idle.set()))
    waiter.start()
    assert not idle.wait(0.2), "a job is still running"
    gate.set()
    assert idle.wait(5)
    assert sorted(ran) == ["queued", "slow"] and running.done() and queued.done()
    waiter.join()
    writer.shutdown()


def test_a_job_taken_is_running_before_the_queue_is_seen_empty() -> None:
    class SlowToStart(PriorityWriter):
        """Widens the moment between taking a job and running it."""

        def _take(self, urgent_only: bool, wait: bool):  # type: ignore[no-untyped-def]
            job = super()._take(urgent_only, wait)
            if job is not None and wait:
                time.sleep(0.2)
            return job

    writer = SlowToStart("t", urgent_lane=False)
    done = threading.Event()
    writer.submit(done.set)
    time.sleep(0.05)  # the thread has taken the job and not started it
    writer.wait_idle()
    assert done.is_set()
    writer.shutdown()


def test_a_queued_job_wakes_one_idle_thread_not_all() -> None:
    class Counting(PriorityWriter):
        """Counts each look at the queues: a thread woken looks once."""

        looks = 0

        def _next(self, urgent_only: bool):  # type: ignore[no-untyped-def]
            Counting.looks += 1
            return super()._next(urgent_only)

    writer = Counting("t", urgent_lane=True, writers=3)
    time.sleep(0.2)  # all four threads have looked once and wait
    Counting.looks = 0
    writer.submit(lambda: None).result(5)
    time.sleep(0.2)  # the thread that ran it has looked again and waits
    writer.shutdown()
    # the thread woken finds the job, then finds nothing; the other three were never woken
    # (each would have looked once more), and shutdown wakes all four (one look each)
    assert Counting.looks == 2 + 4


def test_every_job_runs_when_many_threads_submit_at_once() -> None:
    writer = PriorityWriter("t", urgent_lane=True, writers=3)
    done: list[int] = []

    def submit_many(offset: int) -> None:
        futures = [writer.submit(done.append, offset + n, urgent=n % 7 == 0) for n in range(200)]
        for future in futures:
            future.result(5)

    submitters = [threading.Thread(target=submit_many, args=(k * 1000,)) for k in range(4)]
    for thread in submitters:
        thread.start()
    for thread in submitters:
        thread.join()
    writer.wait_idle()
    writer.shutdown()
    assert sorted(done) == sorted(k * 1000 + n for k in range(4) for n in range(200))


def test_run_hands_the_outcome_to_the_awaiting_loop() -> None:
    writer = PriorityWriter("t", urgent_lane=False)

    async def main() -> None:
        assert await writer.run(lambda a, b: a + b, 2, 3) == 5
        assert await writer.run(str.upper, "urgent", urgent=True) == "URGENT"
        with pytest.raises(ZeroDivisionError):
            await writer.run(lambda: 1 / 0)

    asyncio.run(main())
    writer.shutdown()


def test_a_caller_that_stops_waiting_skips_its_queued_job_not_a_running_one() -> None:
    writer = PriorityWriter("t", urgent_lane=False)
    started, gate, ran = threading.Event(), threading.Event(), list[str]()

    def hold() -> str:
        started.set()
        gate.wait(5)
        ran.append("running")
        return "done"

    async def main() -> None:
        running = asyncio.ensure_future(writer.run(hold))
        queued = asyncio.ensure_future(writer.run(ran.append, "queued"))
        await asyncio.to_thread(started.wait, 5)
        running.cancel()
        queued.cancel()
        await asyncio.gather(running, queued, return_exceptions=True)
        gate.set()
        await asyncio.to_thread(writer.wait_idle)
        await asyncio.sleep(0.05)  # the running job's outcome reaches the loop, unheard

    asyncio.run(main())
    writer.shutdown()
    assert ran == ["running"]  # the queued job never ran; the running one ended


def test_a_unit_raising_stop_iteration_reaches_its_caller_as_an_error() -> None:
    writer = PriorityWriter("t", urgent_lane=False)

    def stops() -> None:
        raise StopIteration("an iterator ran dry")

    async def main() -> None:
        with pytest.raises(RuntimeError, match="StopIteration"):
            await asyncio.wait_for(writer.run(stops), 5)

    asyncio.run(main())
    writer.shutdown()


def test_a_job_ending_after_its_loop_closed_leaves_the_thread_working() -> None:
    writer = PriorityWriter("t", urgent_lane=False)
    started, gate = threading.Event(), threading.Event()

    def hold() -> str:
        started.set()
        gate.wait(5)
        return "late"

    async def leave_early() -> None:
        abandoned = asyncio.ensure_future(writer.run(hold))
        await asyncio.to_thread(started.wait, 5)
        assert not abandoned.done()

    asyncio.run(leave_early())  # the loop closes while `hold` still runs
    gate.set()
    writer.wait_idle()

    async def later() -> str:
        return await asyncio.wait_for(writer.run(str.upper, "still here"), 5)

    assert asyncio.run(later()) == "STILL HERE"
    writer.shutdown()


def test_queued_shows_each_thread_only_the_jobs_it_may_take() -> None:
    """The urgent-only thread is shown urgent jobs alone (a look-up ahead for jobs it will
    never run would be wasted); a thread that takes any job is shown the normal ones too,
    and looking takes nothing from the queue."""
    writer = PriorityWriter("t", urgent_lane=True, writers=1)
    started, gate = threading.Event(), threading.Event()

    def normal_work() -> str:
        return "normal"

    def hold_the_thread_that_takes_any() -> list[Any]:
        started.set()
        gate.wait(5)
        return writer.queued(10)

    blocker = writer.submit(hold_the_thread_that_takes_any)
    assert started.wait(5)  # taken: the urgent job below can only go to the other thread
    normal = writer.submit(normal_work)
    seen_by_urgent_thread = writer.submit(lambda: writer.queued(10), urgent=True).result(5)
    assert seen_by_urgent_thread == []  # the normal job is not its to take
    gate.set()
    assert blocker.result(5) == [normal_work]  # still queued: looking took nothing
    assert normal.result(5) == "normal"
    writer.shutdown()
