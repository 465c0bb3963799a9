"""The `lianxin` command line: one module per command group, built on one entry into the
composition root (`gateway.bootstrap`) and one read of the settings per invocation
(`invocation.Invocation`). `entry.main` parses and runs; `python -m gateway.cli` works too."""

from gateway.cli.entry import main

__all__ = ["main"]
