"""`python -m bench [--store sqlite,postgresql] [--quick]` and `python -m bench soak`."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys

from bench.run import Sizes, profile_run, run_suite
from bench.soak import soak


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("what", nargs="?", choices=["suite", "soak", "profile"], default="suite")
    parser.add_argument("--store", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--quick", action="store_true", help="small sizes (a few minutes)")
    parser.add_argument("--orders", type=int, help="orders in the throughput run")
    parser.add_argument("--backlog", type=int, help="handoffs queued for the drain (1000000)")
    parser.add_argument("--seconds", type=float, help="length of each latency run")
    parser.add_argument("--no-peer", action="store_true", help="skip the Celery + Redis peer")
    parser.add_argument(
        "--profile-drain", action="store_true", help="profile: the backlog drain, not e2e"
    )
    parser.add_argument(
        "--gil", action="store_true", help="profile: sample only the thread holding the GIL"
    )
    parser.add_argument("--minutes", type=int, default=30, help="soak length")
    parser.add_argument("--rate", type=float, default=100.0, help="soak rate, orders/s")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the suite or the soak and print the results."""
    args = _parser().parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so every child process and database is cleaned up
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    stores = [s.strip() for s in args.store.split(",") if s.strip()]
    unknown = set(stores) - {"sqlite", "postgresql"}
    if unknown:
        print(f"unknown store(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    print(
        "uptime before:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    )
    sizes = (Sizes.quick() if args.quick else Sizes.full()).but(
        args.orders, args.backlog, args.seconds
    )
    if args.what == "soak":
        soak(stores[0], args.minutes, args.rate)
    elif args.what == "profile":
        profile_run(stores[0], sizes, backlog=args.profile_drain, gil=args.gil)
    else:
        run_suite(stores, sizes, peer=not args.no_peer)
    print(
        "uptime after:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
