"""`lianxin audit verify --witness FILE`: the chain checked against witnessed checkpoints."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from gateway.crypto.checkpoint_keys import checkpoint_problem
from gateway.domain.checkpoint import Checkpoint
from gateway.domain.errors import EvidenceError
from gateway.service.audit import ChainReport, ChainRow, StoredEntries, verify_chain
from gateway.service.witness_check import WitnessReport, WitnessWalk
from gateway.store.sql import SqlStore
from gateway.witnessing.witnesses import read_witness_file


def witnessed_checkpoints(paths: list[Path], trusted: set[str] | None) -> list[Checkpoint]:
    """Every checkpoint the witness files hold, each signature checked."""
    found: dict[int, Checkpoint] = {}
    for path in paths:
        for checkpoint in read_witness_file(path):
            problem = checkpoint_problem(checkpoint, trusted)
            if problem is not None:
                raise EvidenceError(f"{path}: {problem}")
            found.setdefault(checkpoint.statement.number, checkpoint)
    if not found:
        raise EvidenceError(f"no checkpoint in {', '.join(map(str, paths))}")
    return [found[n] for n in sorted(found)]


def verify_against(
    store: SqlStore, checkpoints: list[Checkpoint]
) -> tuple[ChainReport, WitnessReport]:
    """Walk the chain once: its own links, and each entry against the witness."""
    walk = WitnessWalk(checkpoints)
    first_bad: list[WitnessReport] = []

    def tapped(rows: Iterator[ChainRow]) -> Iterator[ChainRow]:
        for row in rows:
            if not first_bad and (bad := walk.take(row[0], row[-1])) is not None:
                first_bad.append(bad)
            yield row

    with store.audit_snapshot() as (head, records):
        assert isinstance(records, StoredEntries)
        chain = verify_chain(StoredEntries(tapped(records.rows)), head)
    return chain, (first_bad[0] if first_bad else walk.finish())


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
