"""`lianxin audit verify`: the whole hash chain checked, alone or against witnesses
(files or witness databases)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.cli.invocation import Invocation

if TYPE_CHECKING:
    from gateway.service.audit import ChainReport
    from gateway.service.witness_check import WitnessReport


def add_verbs(verbs: Any) -> None:
    """Add `audit verify`."""
    audit = verbs.add_parser("audit", help="audit trail tools").add_subparsers(title="audit")
    verify = audit.add_parser("verify", help="check the whole hash chain")
    verify.add_argument("--database", metavar="URL", help="default: LIANXIN_DATABASE_URL")
    verify.add_argument(
        "--witness",
        action="append",
        default=[],
        metavar="FILE|URL",
        help="also check against the signed checkpoints in this witness file, or witness "
        "database URL (repeatable)",
    )
    verify.add_argument(
        "--key",
        action="append",
        metavar="WHPK",
        help="accept only checkpoints signed by this whpk_ public key (repeatable)",
    )
    verify.set_defaults(run=run_verify)


def run_verify(args: argparse.Namespace, invocation: Invocation) -> int:
    """0 when the chain (and the witness) verify, 1 when broken, 2 when unreadable."""
    from gateway.bootstrap import Tools
    from gateway.service.audit import verify_chain

    url = args.database or invocation.settings.database_url
    missing = _missing_sqlite_file(url)
    if missing is not None:  # opening it would create an empty database that "verifies"
        print(f"audit chain: no database file at {missing}", file=sys.stderr)
        return 2
    if args.witness:
        return _verify_witnessed(args, url)
    store = Tools.store_at(url)
    try:
        with store.audit_snapshot() as (head, records):  # one snapshot: writers may go on
            report = verify_chain(records, head)
    except Exception as exc:  # an unreadable database is a failed verification, said plainly
        print(f"audit chain: cannot read {url}: {exc}", file=sys.stderr)
        return 2
    finally:
        store.engine.dispose()
    if report.ok:
        print(f"audit chain verified: {report.entries} entries, head intact")
        return 0
    print(f"audit chain BROKEN at entry {report.seq}: {report.problem}", file=sys.stderr)
    return 1


def _verify_witnessed(args: argparse.Namespace, url: str) -> int:
    from gateway.bootstrap import Tools
    from gateway.domain.errors import EvidenceError
    from gateway.witnessing.check import verify_against, witnessed_checkpoints

    try:
        checkpoints = witnessed_checkpoints(args.witness, set(args.key) if args.key else None)
    except EvidenceError as exc:
        print(f"audit chain: witness unusable: {exc.message}", file=sys.stderr)
        return 1
    store = Tools.store_at(url)
    try:
        chain, witness = verify_against(store, checkpoints)
    except Exception as exc:  # an unreadable database is a failed verification, said plainly
        print(f"audit chain: cannot read {url}: {exc}", file=sys.stderr)
        return 2
    finally:
        store.engine.dispose()
    return report(chain, witness)


def report(chain: ChainReport, witness: WitnessReport) -> int:
    """Print what was found; the exit status."""
    if not chain.ok:
        print(f"audit chain BROKEN at entry {chain.seq}: {chain.problem}", file=sys.stderr)
    if not witness.ok:
        print(
            f"audit chain does NOT match the witness at entry {witness.seq}: {witness.problem}",
            file=sys.stderr,
        )
    if chain.ok and witness.ok:
        print(
            f"audit chain verified: {chain.entries} entries, head intact; "
            f"{witness.entries} entries match {witness.checkpoints} witnessed checkpoints"
        )
        return 0
    return 1


def _missing_sqlite_file(url: str) -> Path | None:
    """The path of a SQLite URL's file when it does not exist; None otherwise."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database or "")
    return None if path.exists() else path
