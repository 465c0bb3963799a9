"""The `lianxin` command: the parser of every command group, and the exit status of errors."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pydantic import ValidationError
from pydantic_settings import SettingsError

from gateway.cli import (
    audit,
    calendar,
    certs,
    demo,
    evidence,
    keys,
    ops,
    personal,
    serve,
    simulators,
)
from gateway.cli.invocation import Invocation
from gateway.domain.errors import LianxinError


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        return int(args.run(args, Invocation()))
    except LianxinError as exc:
        print(f"lianxin: {exc.code}: {exc.message}", file=sys.stderr)
        return 2
    except (ValidationError, SettingsError) as exc:  # settings from the environment
        print(f"lianxin: config_error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lianxin", description="Lianxin 连心 integration gateway")
    parser.add_argument("--version", action="version", version=f"lianxin {_version()}")
    verbs = parser.add_subparsers(title="commands")
    demo.add_verbs(verbs)  # demo
    serve.add_verbs(verbs)  # serve
    audit.add_verbs(verbs)  # audit verify
    evidence.add_verbs(verbs)  # evidence export, verify, key
    personal.add_verbs(verbs)  # purge, data-key
    keys.add_verbs(verbs)  # keys rotate, keys list
    ops.add_verbs(verbs)  # deliveries list, replay, agencies [pause|resume]
    simulators.add_verbs(verbs)  # simulators (the demo's hotline and agencies, standalone)
    calendar.add_verbs(verbs)  # calendar (years covered, provisional, next gap)
    certs.add_verbs(verbs)  # certs init
    return parser


def _version() -> str:
    """The installed package's version (pyproject.toml), as pip sees it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lianxin")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


if __name__ == "__main__":
    sys.exit(main())
