"""What signed, witnessed checkpoints cost end to end: the e2e durable-handoff run with
checkpointing as deployed (every 10,000 entries or 10 s, a file witness) against the same
run with checkpoints made only at start-up and shutdown, alternating A/B on fresh databases.
Each run reports handoffs/s and the gateway's CPU milliseconds per handoff: on a machine
shared with other work, throughput follows everyone's load, while the gateway's own CPU
per handoff moves much less, so it is the steadier measure of what checkpointing adds.

    python -m bench.checkpoint_cost --store sqlite,postgresql --orders 3000 --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Mapping
from pathlib import Path

from bench.run import CONCURRENCY
from bench.suites import Throughput, delivered_transfers, throughput
from bench.world import World, database, workdir

#: checkpointing as deployed (the defaults), with a file witness
ON = {"checkpoint_interval": 10.0, "checkpoint_entries": 10_000}
#: practically never during the run: an hour, a billion entries
OFF = {"checkpoint_interval": 3600.0, "checkpoint_entries": 1_000_000_000}


def one_run(
    store: str, orders: int, settings: Mapping[str, object], work: Path, tag: str
) -> tuple[Throughput, int]:
    """One e2e run's figures, and how many checkpoints its witness file received."""
    witness = work / f"witness-{tag}.jsonl"
    extra = {**settings, "witness_files": [str(witness)]}
    with database(store, work) as url, World(url, work, extra=extra) as world:
        got = throughput(world, orders, CONCURRENCY, lambda: delivered_transfers(url))
        lines = len(witness.read_text().splitlines()) if witness.exists() else 0
    return got, lines


def main() -> None:
    """Alternate off/on runs per store; print each run and the median cost."""
    parser = argparse.ArgumentParser(prog="python -m bench.checkpoint_cost")
    parser.add_argument("--store", default="sqlite")
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = workdir()
    for store in args.store.split(","):
        rates: dict[str, list[float]] = {"off": [], "on": []}
        cpu: dict[str, list[float]] = {"off": [], "on": []}  # gateway CPU ms per handoff
        for n in range(args.rounds):
            order = ("off", "on") if n % 2 == 0 else ("on", "off")
            for mode in order:
                settings = ON if mode == "on" else OFF
                got, made = one_run(store, args.orders, settings, work, f"{store}-{n}-{mode}")
                rates[mode].append(got.rate)
                cpu[mode].append(1000 * got.server_cpu / got.rate)
                print(
                    f"{store} round {n + 1} checkpointing {mode}: {got.rate:.0f} handoffs/s, "
                    f"gateway CPU {cpu[mode][-1]:.2f} ms/handoff, "
                    f"{made} checkpoints witnessed during the run",
                    flush=True,
                )
        off, on = statistics.median(rates["off"]), statistics.median(rates["on"])
        cpu_off, cpu_on = statistics.median(cpu["off"]), statistics.median(cpu["on"])
        print(
            f"{store}: median {off:.0f}/s off, {on:.0f}/s on: "
            f"cost {100 * (off - on) / off:+.1f} %; "
            f"gateway CPU {cpu_off:.2f} ms off, {cpu_on:.2f} ms on per handoff: "
            f"{100 * (cpu_on - cpu_off) / cpu_off:+.1f} %"
        )


if __name__ == "__main__":
    main()
