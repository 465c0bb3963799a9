"""The `lianxin` command line: one module per command group, built on one entry into the
composition root (`gateway.bootstrap.Tools`) and one read of the settings per invocation
(`invocation.Invocation`). `entry` parses and runs; `python -m gateway.cli` works too."""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script (`lianxin`): run one command, return its status."""
    from gateway.cli.entry import main as run

    return run(argv)
