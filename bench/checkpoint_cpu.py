"""The checkpointer's own CPU, measured apart from everything else on a shared machine.

    python -m bench.checkpoint_cpu --store postgresql --entries 20000 --repeat 3

A fresh database gets `entries` audit entries (synthetic rows: checkpointing reads only
their hashes), then one pass makes a checkpoint of all of them (signed, stored, written
to a file witness) and 20 passes find nothing due. Process CPU (every thread) is timed.
CPU per entry times the entries per handoff of the e2e run (about 12) against the
gateway's CPU per handoff (`bench.checkpoint_cost`) is the share checkpointing takes.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import statistics
import time
from pathlib import Path

from sqlalchemy import create_engine, insert, update

from bench.world import database, workdir
from gateway.bootstrap import open_sql_store
from gateway.crypto.checkpoint_keys import Ed25519CheckpointSigner
from gateway.crypto.signing import generate_ed25519_key
from gateway.service.checkpoints import Checkpointer, CheckpointPolicy
from gateway.store.checkpoints import SqlCheckpoints
from gateway.store.migrate import upgrade
from gateway.store.schema import audit_head, audit_log
from gateway.witnessing.witnesses import FileWitness

IDLE_PASSES = 20


def _fill(url: str, entries: int) -> None:
    """`entries` rows in audit_log and the head on the last (hashes only matter here)."""
    hashes = [hashlib.sha256(str(seq).encode()).hexdigest() for seq in range(1, entries + 1)]
    rows = [
        {"seq": seq, "at_us": seq, "event": "bench", "order_id": "wo_bench", "handoff_id": None,
         "party": "bench", "payload_digest": None, "signature": None, "detail": "{}",
         "prev_hash": "0" * 64, "entry_hash": hashes[seq - 1]}
        for seq in range(1, entries + 1)
    ]  # fmt: skip
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(audit_log), rows)
        head = update(audit_head).where(audit_head.c.id == 1)
        conn.execute(head.values(seq=entries, hash=hashes[-1]))
    engine.dispose()


def one_run(store: str, entries: int, work: Path) -> tuple[float, float]:
    """CPU seconds of the pass that checkpoints `entries`, and of one idle pass."""
    with database(store, work) as url:
        upgrade(url)
        _fill(url, entries)
        sql = open_sql_store(url)
        maker = Checkpointer(
            SqlCheckpoints(sql),
            Ed25519CheckpointSigner(generate_ed25519_key()),
            [FileWitness(work / f"witness-{time.monotonic_ns()}.jsonl")],
            CheckpointPolicy(interval=10.0, entries=10_000),
        )

        async def passes() -> tuple[float, float]:
            started = time.process_time()
            await maker.tick()
            made = time.process_time() - started
            for _ in range(IDLE_PASSES):
                await maker.tick()
            idle = (time.process_time() - started - made) / IDLE_PASSES
            await sql.aclose()
            return made, idle

        return asyncio.run(passes())


def main() -> None:
    """Repeat the measurement; print each and the medians."""
    parser = argparse.ArgumentParser(prog="python -m bench.checkpoint_cpu")
    parser.add_argument("--store", default="postgresql")
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = workdir()
    per_entry, idle = [], []
    for n in range(args.repeat):
        made, quiet = one_run(args.store, args.entries, work)
        per_entry.append(1e6 * made / args.entries)
        idle.append(1e3 * quiet)
        print(f"run {n + 1}: {per_entry[-1]:.2f} µs CPU per entry, idle pass {idle[-1]:.2f} ms")
    print(
        f"{args.store}: median {statistics.median(per_entry):.2f} µs per entry checkpointed, "
        f"{statistics.median(idle):.2f} ms per idle pass"
    )


if __name__ == "__main__":
    main()
