"""What one store transaction costs around its unit of work, in CPU µs.

`python -m bench.transactions [--store sqlite,postgresql] [--transactions 2000] [--rounds 9]`

Each transaction runs one `SELECT 1` inside `gateway.store.sql._Transaction`, as the store
runs every unit of work, on the calling thread (no writer thread, no event loop: only the
transaction's own begin and commit are measured). The ways compared, interleaved round by
round in one process, each on an engine of its own:

- `pooled`: `engine.begin()`, a pool checkout and check-in each time (the store's reads
  off the writer threads, and every transaction before the writers held connections);
- `held`: the writer threads' way, one connection kept across transactions
  (`gateway.store.held`).

On SQLite each is measured twice more with the BEGIN IMMEDIATE hook as it was before
2026-12-07 (through SQLAlchemy's `exec_driver_sql`, `+ sqlalchemy begin`) beside the
store's own (on the driver). Prints the minimum and median of the rounds' µs per
transaction (the process's CPU clock: user and system).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from sqlalchemy import Connection, Engine, event

from bench.world import database
from gateway.store import sql
from gateway.store.held import HeldConnections
from gateway.store.migrate import upgrade

Begin = Callable[[], AbstractContextManager[Connection]]


def sqlalchemy_begin(conn: Connection) -> None:
    """SQLite's begin hook as it was: BEGIN IMMEDIATE through SQLAlchemy's execution."""
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def ways(url: str) -> dict[str, tuple[Engine, Begin]]:
    """Each way of beginning a transaction, on an engine of its own."""
    found: dict[str, tuple[Engine, Begin]] = {}
    hooks: dict[str, Callable[[Connection], None] | None] = {"": None}
    if url.startswith("sqlite"):
        hooks["+ sqlalchemy begin"] = sqlalchemy_begin
    for suffix, hook in hooks.items():
        for name in ("pooled", "held"):
            engine = sql.create_store_engine(url)
            if hook is not None:
                event.remove(engine, "begin", sql._sqlite_begin)
                event.listen(engine, "begin", hook)
            begin = engine.begin if name == "pooled" else HeldConnections(engine).begin
            found[f"{name} {suffix}".strip()] = (engine, begin)
    return found


def one_transaction(begin: Begin) -> None:
    with sql._Transaction(begin()) as conn:
        conn.exec_driver_sql("SELECT 1").close()


def measure(url: str, transactions: int, rounds: int) -> dict[str, list[float]]:
    """µs of CPU per transaction of each way, one figure per round."""
    found = ways(url)
    spent: dict[str, list[float]] = {name: [] for name in found}
    for _ in range(rounds):
        for name, (_, begin) in found.items():
            start = time.process_time()
            for _ in range(transactions):
                one_transaction(begin)
            spent[name].append((time.process_time() - start) / transactions * 1e6)
    for engine, _ in found.values():
        engine.dispose()
    return spent


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", default="sqlite,postgresql")
    parser.add_argument("--transactions", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args(argv)
    for store in args.store.split(","):
        with tempfile.TemporaryDirectory() as tmp, database(store, Path(tmp)) as url:
            upgrade(url)
            for name, figures in measure(url, args.transactions, args.rounds).items():
                low, middle = min(figures), statistics.median(figures)
                print(f"{store:10s} {name:28s} min {low:6.1f}  median {middle:6.1f} µs CPU")


if __name__ == "__main__":
    main()
