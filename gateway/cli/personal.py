"""`lianxin purge` and `lianxin data-key`: the personal-data verbs of the command line."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gateway.cli.invocation import Invocation
from gateway.cli.progress import Progress

if TYPE_CHECKING:
    from gateway.service.operations.retention import Run
    from gateway.service.ports.store import UnitOfWork


def add_verbs(verbs: Any) -> None:
    """Add `purge` and `data-key` to the `lianxin` sub-commands."""
    purge = verbs.add_parser(
        "purge", help="erase personal data from orders older than the retention period"
    )
    purge.add_argument("--days", type=int, metavar="N", help="default: LIANXIN_RETENTION_DAYS")
    purge.add_argument("--database", metavar="URL", help="default: LIANXIN_DATABASE_URL")
    purge.set_defaults(run=run_purge)
    key = verbs.add_parser("data-key", help="print a new lxdk_ key for LIANXIN_DATA_KEYS")
    key.set_defaults(run=run_data_key)


def run_purge(args: argparse.Namespace, invocation: Invocation) -> int:
    """Purge every due order; 2 when no retention period is set."""
    from gateway.observability.log_masking import install_log_masking
    from gateway.service.operations.retention import purge

    install_log_masking()
    tools = invocation.tools(database_url=args.database)
    days = args.days if args.days is not None else tools.settings.retention_days
    if days is None or days < 1:
        print("lianxin: purge needs --days N (N ≥ 1) or LIANXIN_RETENTION_DAYS", file=sys.stderr)
        return 2
    store = tools.store(migrate=False)  # erasing needs no data key
    shown = Progress(None, "orders purged")  # the total is not known ahead
    try:
        report = purge(_reporting(store.run_sync, shown), time.time(), days)
    finally:
        shown.close()
        store.engine.dispose()
    print(
        f"purged personal data of {report.orders} orders older than {days} days "
        f"({report.fields} fields, {report.bodies} handoff bodies); "
        f"{report.received} received message bodies dropped"
    )
    return 0


def _reporting(run: Run, shown: Progress) -> Run:
    """`run`, telling `shown` the orders purged so far after each batch."""
    from gateway.service.operations.retention import PurgeReport

    done, batches = PurgeReport(), 0

    def run_batch(work: Callable[[UnitOfWork], PurgeReport]) -> PurgeReport:
        nonlocal done, batches
        report = run(work)
        done, batches = done + report, batches + 1
        shown.update(done.orders, batches)
        return report

    return run_batch


def run_data_key(_args: argparse.Namespace, _invocation: Invocation) -> int:
    """Print a fresh random data key."""
    from gateway.crypto.sealing import generate_data_key

    print(generate_data_key())
    return 0
