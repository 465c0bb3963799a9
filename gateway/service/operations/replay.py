"""Replay: put dead-lettered handoffs back in the outbox, in batches, on record.

An operator selects dead letters by agency, by a window on the handoff's `created_at`
and/or by id, counts them first (dry run), then replays them: each goes back to
`pending`, due now, with its attempts reset, and the audit trail gets a `replayed` entry
naming who did it. The same id, body and digest are sent again, so an agency that had
in fact received a message recognises the repeat by its `webhook-id`.

Each batch is its own short transaction, so a bulk replay never holds the database's
writer for long; a cancel flag is checked between batches. The rows to replay are fixed
when the replay starts (up to the newest handoff then): a handoff that dies again during
the replay is not picked up a second time.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from gateway.domain.audit import AuditEvent, AuditKind
from gateway.domain.errors import InputError
from gateway.service.directory import Directory
from gateway.service.ports.queries import DeadLetter, DeadLetterFilter
from gateway.service.ports.store import Store, UnitOfWork

BATCH = 500
LIST_LIMIT = 1000
Progress = Callable[["ReplayProgress"], Awaitable[None] | None]


@dataclass(frozen=True)
class ReplayProgress:
    """Where a replay stands after a batch (or at its end)."""

    batches: int
    replayed: int
    cancelled: bool = False


def checked(directory: Directory, which: DeadLetterFilter) -> DeadLetterFilter:
    """`which`, refused with a typed error when it names an unknown agency or no window."""
    if which.agency is not None:
        directory.profile(which.agency)  # UnknownAgency (404) with a "did you mean"
    if which.since is not None and which.until is not None and which.since >= which.until:
        raise InputError("'since' must be before 'until'", since=which.since, until=which.until)
    return which


def require_bounds(which: DeadLetterFilter) -> None:
    """Refuse a replay of every dead letter of every agency: say what to replay."""
    if which == DeadLetterFilter():
        raise InputError("name an agency, a time window or handoff ids to replay")


def list_dead(
    uow: UnitOfWork, which: DeadLetterFilter, limit: int = LIST_LIMIT
) -> list[DeadLetter]:
    """The dead letters `which` selects, oldest first, at most `limit`."""
    return uow.handoff_queries.dead_letters(which, after_seq=0, limit=limit)


def count_dead(uow: UnitOfWork, which: DeadLetterFilter) -> int:
    """How many dead letters `which` selects (the dry run)."""
    return uow.handoff_queries.count_dead(which)


def replay_batch(
    uow: UnitOfWork,
    which: DeadLetterFilter,
    *,
    after_seq: int,
    upto_seq: int,
    limit: int,
    by: str,
    now: float,
) -> list[DeadLetter]:
    """Replay the next `limit` dead letters after `after_seq`; audit each; return them."""
    batch = uow.handoff_queries.dead_letters(which, after_seq, limit, upto_seq)
    if not batch:
        return []
    uow.handoffs.revive([d.id for d in batch], now)
    for dead in batch:
        uow.audit.append(
            AuditEvent(
                AuditKind.replayed,
                order_id=dead.order_id,
                handoff_id=dead.id,
                party=dead.agency,
                detail={
                    "by": by,
                    "previous_attempts": dead.attempts,
                    "last_error": dead.last_error,
                    "last_status": dead.last_status,
                },
            )
        )
    return batch


async def replay(
    store: Store,
    which: DeadLetterFilter,
    *,
    by: str,
    clock: Callable[[], float],
    batch: int = BATCH,
    cancel: threading.Event | None = None,
    progress: Progress | None = None,
) -> ReplayProgress:
    """Replay every dead letter `which` selects, `batch` per transaction, until done or
    `cancel` is set (checked between batches); `progress` hears about each batch."""
    require_bounds(which)
    upto = await store.read(lambda uow: uow.handoff_queries.newest_seq())
    after, done, batches = 0, 0, 0
    while True:
        if cancel is not None and cancel.is_set():
            return ReplayProgress(batches, done, cancelled=True)

        def one(uow: UnitOfWork, after: int = after) -> list[DeadLetter]:
            return replay_batch(
                uow, which, after_seq=after, upto_seq=upto, limit=batch, by=by, now=clock()
            )

        replayed = await store.write(one)
        if not replayed:
            break
        after, done, batches = replayed[-1].seq, done + len(replayed), batches + 1
        await _tell(progress, ReplayProgress(batches, done))
    return ReplayProgress(batches, done)


async def _tell(progress: Progress | None, state: ReplayProgress) -> None:
    if progress is None:
        return
    result = progress(state)
    if result is not None:
        await result
