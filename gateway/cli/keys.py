"""`lianxin keys rotate` and `lianxin keys list`: key rotation with an overlap window."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import time
from typing import Any

from gateway.cli.invocation import Invocation
from gateway.cli.json_output import add_option as add_json_option
from gateway.cli.json_output import emit, key_record

DAY = 86_400


def add_verbs(verbs: Any) -> None:
    """Add `keys rotate` and `keys list` to the `lianxin` sub-commands."""
    keys = verbs.add_parser("keys", help="signing keys: rotate, list").add_subparsers(title="keys")
    rotate = keys.add_parser(
        "rotate", help="a new key for an agency (--key) or for Lianxin itself ('self')"
    )
    rotate.add_argument("owner", metavar="AGENCY|self")
    rotate.add_argument("--key", metavar="TEXT", help="the agency's new whpk_/whsec_/whsm3_ key")
    rotate.add_argument(
        "--overlap",
        type=float,
        default=DAY,
        metavar="SECONDS",
        help="how long the old keys keep working (default: one day)",
    )
    rotate.add_argument("--by", default=getpass.getuser(), help="who rotates (for the audit)")
    rotate.set_defaults(run=run_rotate)
    listing = keys.add_parser("list", help="every rotated key and its state")
    add_json_option(listing)
    listing.set_defaults(run=run_list)


def run_rotate(args: argparse.Namespace, invocation: Invocation) -> int:
    """Rotate one owner's key; print what now signs and what retires when."""
    from gateway.domain.errors import ConfigError
    from gateway.service.operations.keyring import SELF
    from gateway.service.ports.crypto import KeyRecord
    from gateway.service.ports.store import UnitOfWork

    if args.overlap < 0:
        raise ConfigError("--overlap must be ≥ 0 seconds")
    if (args.owner == SELF) == (args.key is not None):
        raise ConfigError("give --key for an agency, and no --key for 'self'")
    gateway = invocation.tools().gateway()
    ring = gateway.keyring

    def rotate(uow: UnitOfWork) -> KeyRecord:
        if args.owner == SELF:
            return ring.rotate_self(uow, args.overlap, args.by)
        return ring.rotate_agency(uow, args.owner, args.key, args.overlap, args.by)

    async def rotated() -> KeyRecord:
        try:
            return await gateway.store.write(rotate)
        finally:
            await gateway.store.aclose()

    record = asyncio.run(rotated())
    until = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(time.time() + args.overlap))
    print(f"{args.owner}: new {record.scheme} key {record.key_id}; the old keys work until {until}")
    return 0


def run_list(args: argparse.Namespace, invocation: Invocation) -> int:
    """Print every rotated key."""
    store = invocation.tools().store()
    try:
        records = store.run_sync(lambda uow: uow.keys.all(), writes=False)
    finally:
        store.engine.dispose()
    if args.json:
        emit([key_record(r) for r in records])
        return 0
    for r in records:
        retire = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.retire_at)) if r.retire_at else ""
        print(f"{r.owner:<22} {r.key_id:<10} {r.scheme:<6} {r.state:<9} {retire}")
    if not records:
        print("no rotated keys: the configured keys are in force")
    return 0
