"""`lianxin deliveries list`, `lianxin replay`, `lianxin agencies pause|resume`: operations.

These work on the database a running gateway uses (LIANXIN_DATABASE_URL): the gateway's
dispatcher picks replayed handoffs up on its next poll, and reads an agency's pause on
its next claim.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import signal
import sys
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gateway.cli.health import add_options as add_health_options
from gateway.cli.invocation import Invocation
from gateway.cli.json_output import add_option as add_json_option
from gateway.cli.json_output import dead_letter, emit
from gateway.cli.progress import Progress
from gateway.domain.errors import InputError

if TYPE_CHECKING:
    from gateway.service.directory import Directory
    from gateway.service.operations.replay import ReplayProgress
    from gateway.service.ports.queries import DeadLetterFilter
    from gateway.store.sql import SqlStore


def add_verbs(verbs: Any) -> None:
    """Add `deliveries list`, `replay` and `agencies pause|resume` to the sub-commands."""
    deliveries = verbs.add_parser("deliveries", help="the outbox: list failed deliveries")
    listing = deliveries.add_subparsers(title="deliveries").add_parser(
        "list", help="dead-lettered deliveries, oldest first"
    )
    listing.add_argument("--failed", action="store_true", required=True, help="dead letters")
    _selection(listing)
    listing.add_argument("--limit", type=int, default=100, metavar="N")
    add_json_option(listing)
    listing.set_defaults(run=run_list)
    replay = verbs.add_parser("replay", help="put dead-lettered deliveries back in the outbox")
    _selection(replay)
    replay.add_argument("--dry-run", action="store_true", help="only count what would replay")
    replay.add_argument("--by", default=getpass.getuser(), help="who replays (for the audit)")
    replay.add_argument("--batch", type=int, default=500, metavar="N", help="rows per transaction")
    add_json_option(replay)
    replay.set_defaults(run=run_replay)
    agencies = verbs.add_parser(
        "agencies",
        help="health table of every agency (circuits n/a: they live in the gateway); "
        "pause or resume one",
    )
    add_health_options(agencies)  # `lianxin agencies` alone prints the health table
    actions = agencies.add_subparsers(title="agencies")
    pause = actions.add_parser("pause", help="no deliveries to AGENCY until it is resumed")
    pause.add_argument("agency", metavar="AGENCY")
    pause.add_argument("--reason", default="paused by an operator")
    pause.add_argument("--by", default=getpass.getuser(), help="who pauses (for the audit)")
    pause.set_defaults(run=run_pause)
    resume = actions.add_parser("resume", help="deliver to AGENCY again (also after a 410)")
    resume.add_argument("agency", metavar="AGENCY")
    resume.add_argument("--by", default=getpass.getuser(), help="who resumes (for the audit)")
    resume.set_defaults(run=run_resume)


def _selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--agency", metavar="AGENCY")
    parser.add_argument(
        "--since", metavar="ISO", help="created at or after, e.g. 2026-11-27T08:00+08:00"
    )
    parser.add_argument("--until", metavar="ISO", help="created before")


def _epoch(text: str | None, flag: str) -> float | None:
    if text is None:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"{flag} '{text}' is not an ISO 8601 time") from exc
    if at.tzinfo is None:
        raise InputError(f"{flag} '{text}' has no time zone: add one, e.g. +08:00")
    return at.timestamp()


def _filter(args: argparse.Namespace, directory: Directory) -> DeadLetterFilter:
    from gateway.service.operations import replay
    from gateway.service.ports.queries import DeadLetterFilter

    which = DeadLetterFilter(
        args.agency, _epoch(args.since, "--since"), _epoch(args.until, "--until")
    )
    return replay.checked(directory, which)


def run_list(args: argparse.Namespace, invocation: Invocation) -> int:
    """Print the dead letters selected as a table."""
    from gateway.service.operations import replay

    with invocation.opened() as (store, directory):
        which = _filter(args, directory)
        total, rows = store.run_sync(
            lambda uow: (replay.count_dead(uow, which), replay.list_dead(uow, which, args.limit)),
            writes=False,
        )
    if args.json:
        emit({"state": "dead", "total": total, "deliveries": [dead_letter(d) for d in rows]})
        return 0
    print(
        f"{'id':<30} {'agency':<18} {'kind':<9} {'lane':<9} {'tries':>5} {'status':>6}  "
        f"{'created (UTC)':<19}  last error"
    )
    for d in rows:
        created = datetime.fromtimestamp(d.created_at, UTC).strftime("%Y-%m-%d %H:%M:%S")
        status = "" if d.last_status is None else str(d.last_status)
        error = (d.last_error or "")[:60]
        print(
            f"{d.id:<30} {d.agency:<18} {d.kind:<9} {d.lane:<9} {d.attempts:>5} {status:>6}  "
            f"{created:<19}  {error}"
        )
    print(f"{len(rows)} shown of {total} dead-lettered")
    return 0


def run_replay(args: argparse.Namespace, invocation: Invocation) -> int:
    """Count, or replay batch by batch with a progress line each; Ctrl-C stops between batches."""
    from gateway.service.operations import replay

    if args.batch < 1:
        raise InputError("--batch must be at least 1")
    with invocation.opened() as (store, directory):
        which = _filter(args, directory)
        count = store.run_sync(lambda uow: replay.count_dead(uow, which), writes=False)
        if args.dry_run:
            _report(
                args,
                {"dry_run": True, "count": count},
                f"dry run: {count} dead-lettered deliveries would be replayed",
            )
            return 0
        replay.require_bounds(which)
        if not args.json:
            print(
                f"replaying {count} dead-lettered deliveries, {args.batch} per batch, by {args.by}"
            )
        started = time.perf_counter()
        # a bar on a terminal's stderr, else lines (on stderr too with --json: stdout is JSON)
        shown = Progress(count, "replayed", lines_to=sys.stderr if args.json else None)
        outcome = asyncio.run(_replay(store, which, args.by, args.batch, shown))
    took = time.perf_counter() - started
    state = "cancelled after" if outcome.cancelled else "done:"
    result = {
        "dry_run": False,
        "count": count,
        "replayed": outcome.replayed,
        "batches": outcome.batches,
        "cancelled": outcome.cancelled,
        "seconds": round(took, 3),
    }
    _report(
        args,
        result,
        f"{state} {outcome.replayed} replayed in {outcome.batches} batches, {took:.1f} s",
    )
    return 1 if outcome.cancelled else 0


def _report(args: argparse.Namespace, document: dict[str, Any], line: str) -> None:
    if args.json:
        emit(document)
    else:
        print(line)


async def _replay(
    store: SqlStore, which: DeadLetterFilter, by: str, batch: int, shown: Progress
) -> ReplayProgress:
    from gateway.service.operations import replay

    cancel = threading.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, cancel.set)  # stop between batches, never mid-batch

    def progress(state: replay.ReplayProgress) -> None:
        shown.update(state.replayed, state.batches)

    try:
        return await replay.replay(
            store, which, by=by, clock=time.time, batch=batch, cancel=cancel, progress=progress
        )
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        shown.close()


def run_pause(args: argparse.Namespace, invocation: Invocation) -> int:
    """Pause one agency."""
    from gateway.service.operations import pausing

    with invocation.opened() as (store, directory):
        store.run_sync(
            lambda uow: pausing.pause(
                uow, directory, args.agency, args.by, args.reason, time.time()
            )
        )
    print(f"{args.agency}: paused by {args.by}; its handoffs wait until `lianxin agencies resume`")
    return 0


def run_resume(args: argparse.Namespace, invocation: Invocation) -> int:
    """Resume one agency."""
    from gateway.service.operations import pausing

    with invocation.opened() as (store, directory):
        store.run_sync(
            lambda uow: pausing.resume(uow, directory, args.agency, args.by, time.time())
        )
    print(f"{args.agency}: resumed by {args.by}; deliveries start on the next poll")
    return 0
