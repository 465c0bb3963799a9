"""`lianxin evidence export|verify|key`: per-order evidence bundles, checked offline."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from pathlib import Path
from typing import Any

from gateway.cli.invocation import Invocation


def add_verbs(verbs: Any) -> None:
    """Add `evidence export`, `evidence verify` and `evidence key`."""
    evidence = verbs.add_parser("evidence", help="per-order evidence bundles")
    sub = evidence.add_subparsers(title="evidence")
    export = sub.add_parser("export", help="one order's sealed evidence bundle (JSON)")
    export.add_argument("order", metavar="ORDER", help="the work order's id")
    export.add_argument("-o", "--output", type=Path, metavar="FILE", help="default: stdout")
    export.add_argument("--database", metavar="URL", help="default: LIANXIN_DATABASE_URL")
    export.add_argument("--by", default=getpass.getuser(), help="who exports (in the bundle)")
    export.add_argument(
        "--personal-data",
        choices=("masked", "plain"),
        default="masked",
        help="plain: include the bodies of received messages (they may hold personal data), "
        "so the agencies' signatures verify offline; default: masked",
    )
    export.set_defaults(run=_export)
    verify = sub.add_parser("verify", help="check a bundle offline: no database, no network")
    verify.add_argument("file", type=Path, metavar="FILE")
    verify.add_argument(
        "--key",
        action="append",
        metavar="WHPK",
        help="accept only this whpk_ checkpoint key (repeatable); default: the bundle's own",
    )
    verify.add_argument(
        "--witness",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="also check that a witness file holds each of the bundle's checkpoints",
    )
    verify.set_defaults(run=_verify)
    key = sub.add_parser("key", help="print a new checkpoint key (LIANXIN_CHECKPOINT_KEY)")
    key.set_defaults(run=_key)


def _export(args: argparse.Namespace, invocation: Invocation) -> int:
    tools = invocation.tools(database_url=args.database)
    store = tools.store(sealed=True)

    async def run() -> str:
        try:
            exporter = tools.evidence(store)
            plain = args.personal_data == "plain"
            return await exporter.export(args.order, f"{args.by} (cli)", plain)
        finally:
            await store.aclose()

    text = asyncio.run(run())
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
        print(f"evidence for {args.order} written to {args.output}", file=sys.stderr)
    return 0


def _verify(args: argparse.Namespace, _invocation: Invocation) -> int:
    from gateway.domain.errors import EvidenceError
    from gateway.service.bundle_check import verify_bundle

    try:
        raw = args.file.read_bytes()
        report = verify_bundle(raw, set(args.key) if args.key else None)
        if args.witness:
            _check_witnessed(report, args.witness, set(args.key) if args.key else None)
            report_witness = (
                f"each of its checkpoints is held by {len(args.witness)} witness file(s)"
            )
    except OSError as exc:
        print(f"evidence: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    except EvidenceError as exc:
        print(f"evidence NOT verified: {exc.message}", file=sys.stderr)
        return 1
    print(
        f"evidence verified: order {report.order_id}, {report.entries} audit entries, "
        f"{report.messages} messages, checkpoints {report.checkpoints} "
        f"({report.stamped} time-stamped) signed by key {', '.join(report.key_ids)}"
    )
    print(_senders(report.senders))
    if args.witness:
        print(report_witness)
    if not args.key:
        print("the keys were taken from the bundle: compare them with the published ones")
    return 0


def _senders(senders: dict[str, int]) -> str:
    return (
        f"received messages: {senders['verified']} sender signature(s) verified, "
        f"{senders['withheld']} not checked (body withheld: export with --personal-data plain), "
        f"{senders['shared_secret']} HMAC-signed (only the sender's secret checks them), "
        f"{senders['unsigned']} carried unsigned by their transport"
    )


def _check_witnessed(report: Any, paths: list[Path], trusted: set[str] | None) -> None:
    from gateway.domain.errors import EvidenceError
    from gateway.service.bundle_check import not_witnessed
    from gateway.witnessing.check import witnessed_checkpoints

    missing = not_witnessed(report, witnessed_checkpoints(paths, trusted))
    if missing:
        raise EvidenceError(f"checkpoints {missing} are not in the witness as signed")


def _key(_args: argparse.Namespace, _invocation: Invocation) -> int:
    from gateway.crypto.signing import generate_ed25519_key, public_text_of

    key = generate_ed25519_key()
    print(f"LIANXIN_CHECKPOINT_KEY={key}")
    print(f"public key (give it to whoever verifies): {public_text_of(key)}")
    return 0
