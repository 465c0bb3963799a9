"""Database writer threads that let urgent work (emergency handoffs) go first.

Work queued for the database waits for what is queued before it. Under a backlog that
queue holds claims and outcome batches of normal handoffs; an emergency intake, claim or
outcome must not wait behind them. Every writer thread takes urgent jobs first. With an
urgent lane (PostgreSQL) one more thread takes only urgent jobs, while the others take
both: an urgent transaction then never waits for a queue of normal ones, only (on the
database) for the rows and the audit head's lock the ones running hold. SQLite has one
writer thread and no lane. A running job is never interrupted.

A job queued wakes one thread that may take it (an urgent one also the urgent-only
thread), not every thread: with four threads on PostgreSQL, waking all of them for each
job cost every job three needless thread switches and a fight for the GIL.

A job queued from the event loop (`run`) hands its outcome back with one
`call_soon_threadsafe` onto an asyncio future: `concurrent.futures.Future` wrapped by
`asyncio.wrap_future` took a lock and a condition, two callbacks and two hops, about
twice the CPU of the whole handoff.

A thread hands the jobs it takes to a runner. The default runs each on its own; the SQL
store's runner commits several in one transaction (group commit), asking for the next
job with `more` while its budget lasts, so a queued urgent job still comes next.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from itertools import chain, islice
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

T = TypeVar("T")


class Outcome(Protocol):
    """Where a job's outcome is due: a `concurrent.futures.Future`, or a `LoopOutcome`."""

    def set_running_or_notify_cancel(self) -> bool: ...

    def set_result(self, result: Any) -> None: ...

    def set_exception(self, exception: BaseException) -> None: ...


class Job(NamedTuple):
    """Queued work: `work(*args)`, its outcome due on `future`."""

    future: Outcome
    work: Callable[..., Any]
    args: tuple[Any, ...]


class LoopOutcome(Generic[T]):
    """A job's outcome, due on `future`, an asyncio future of `loop`, set from a writer
    thread with one `call_soon_threadsafe`. A caller that stopped waiting (its future
    cancelled) before the job started has it skipped, as a cancelled Future's would be."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.future: asyncio.Future[T] = loop.create_future()

    def set_running_or_notify_cancel(self) -> bool:
        return not self.future.cancelled()  # one attribute read: safe off the loop's thread

    def set_result(self, result: T) -> None:
        self._settle(result, None)

    def set_exception(self, exception: BaseException) -> None:
        self._settle(None, exception)

    def _settle(self, result: T | None, error: BaseException | None) -> None:
        if isinstance(error, StopIteration):  # an asyncio future refuses it (TypeError)
            error = RuntimeError(f"a unit of work raised StopIteration: {error!r}")
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody is left to hear it
            self.loop.call_soon_threadsafe(_settle, self.future, result, error)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():  # its caller stopped waiting while it ran
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


More = Callable[[], Job | None]  # the next queued job this thread may take, if any
Runner = Callable[[Job, More], None]


class PriorityWriter:
    """`writers` threads over an urgent and a normal queue, plus one urgent-only thread
    when `urgent_lane` (only worth it where writers can run side by side: not SQLite)."""

    def __init__(
        self,
        name: str,
        *,
        urgent_lane: bool,
        runner: Runner | None = None,
        writers: int = 1,
    ) -> None:
        self._urgent: deque[Job] = deque()
        self._normal: deque[Job] = deque()
        self._lock = threading.Lock()  # over both queues and the count of running jobs
        self._for_any = threading.Condition(self._lock)  # threads that take any job wait here
        self._for_urgent = threading.Condition(self._lock)  # the urgent-only thread waits here
        self._idle = threading.Condition(self._lock)  # `wait_idle` waits here
        self._stopping = False
        self._running = 0  # jobs taken and not yet finished, for `wait_idle`
        self._runner = runner or run_alone
        roles = [False] * writers + ([True] if urgent_lane else [])
        self._threads = [
            threading.Thread(
                target=self._work, args=(urgent_only,), name=f"{name}-{n}", daemon=True
            )
            for n, urgent_only in enumerate(roles)
        ]
        self._urgent_only = {  # the threads that take only urgent jobs (`queued` asks)
            thread for thread, urgent_only in zip(self._threads, roles, strict=True) if urgent_only
        }
        for thread in self._threads:
            thread.start()

    def submit(self, job: Callable[..., T], *args: Any, urgent: bool = False) -> Future[T]:
        """Queue `job(*args)`; its result or exception arrives on the returned future."""
        future: Future[T] = Future()
        self._queue(Job(future, job, args), urgent)
        return future

    async def run(self, job: Callable[..., T], *args: Any, urgent: bool = False) -> T:
        """`job(*args)` on a writer thread, awaited on the running event loop."""
        outcome: LoopOutcome[T] = LoopOutcome(asyncio.get_running_loop())
        self._queue(Job(outcome, job, args), urgent)
        return await outcome.future

    def _queue(self, job: Job, urgent: bool) -> None:
        with self._lock:
            if self._stopping:
                raise RuntimeError("the database writer is shut down")
            (self._urgent if urgent else self._normal).append(job)
            self._for_any.notify()  # a thread that finds it taken already waits again
            if urgent:
                self._for_urgent.notify()

    def shutdown(self) -> None:
        """Finish every queued job, then stop the threads."""
        with self._lock:
            self._stopping = True
            self._for_any.notify_all()
            self._for_urgent.notify_all()
        for thread in self._threads:
            thread.join()

    def wait_idle(self) -> None:
        """Until nothing is queued or running: every job submitted so far has ended (its
        transaction committed or failed), including jobs whose caller stopped waiting."""
        with self._lock:
            while self._busy():
                self._idle.wait()

    def queued(self, most: int) -> list[Callable[..., Any]]:
        """The work of up to `most` jobs queued now that the calling thread may take
        (urgent first), left in the queue: a runner may prepare for them (read ahead what
        they will read) before it takes them. Another thread may take any of them."""
        urgent_only = threading.current_thread() in self._urgent_only
        with self._lock:
            jobs = self._urgent if urgent_only else chain(self._urgent, self._normal)
            return [job.work for job in islice(jobs, most)]

    def _busy(self) -> bool:
        return bool(self._urgent or self._normal or self._running)

    def _take(self, urgent_only: bool, wait: bool) -> Job | None:
        """The next job this thread may run. A thread's first job (`wait`) is counted as
        running before the lock is let go, so `wait_idle` never sees it neither queued nor
        running; the jobs it then adds to its group are covered by that count."""
        waiting_room = self._for_urgent if urgent_only else self._for_any
        with self._lock:
            while True:
                job = self._next(urgent_only)
                if job is not None:
                    self._running += wait
                    return job
                if self._stopping or not wait:
                    return None
                waiting_room.wait()

    def _next(self, urgent_only: bool) -> Job | None:
        if self._urgent:
            return self._urgent.popleft()
        if self._normal and not urgent_only:
            return self._normal.popleft()
        return None

    def _work(self, urgent_only: bool) -> None:
        def more() -> Job | None:
            return self._take(urgent_only, wait=False)

        while (job := self._take(urgent_only, wait=True)) is not None:
            try:
                self._runner(job, more)
            finally:
                with self._lock:
                    self._running -= 1
                    if not self._busy():
                        self._idle.notify_all()


def run_alone(job: Job, _more: More) -> None:
    """The default runner: one job at a time."""
    future, work, args = job
    if not future.set_running_or_notify_cancel():
        return
    try:
        future.set_result(work(*args))
    except BaseException as exc:  # handed to the awaiting caller
        future.set_exception(exc)
