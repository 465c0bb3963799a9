"""The audit chain checked against witnessed checkpoints (`lianxin audit verify --witness`,
the demo): the witness files read, each checkpoint's signature checked, one walk of the chain."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.crypto.checkpoint_keys import checkpoint_problem
from gateway.domain.checkpoint import Checkpoint
from gateway.domain.errors import EvidenceError
from gateway.service.audit import ChainReport, ChainRow, StoredEntries, verify_chain
from gateway.service.witness_check import WitnessReport, WitnessWalk
from gateway.witnessing.database import is_database_url, read_witness_database, shown
from gateway.witnessing.witnesses import read_witness_file

if TYPE_CHECKING:
    from gateway.store.sql import SqlStore


def witnessed_checkpoints(
    paths: Sequence[Path | str], trusted: set[str] | None
) -> list[Checkpoint]:
    """Every checkpoint the witnesses hold (files, or database URLs), each signature checked."""
    found: dict[int, Checkpoint] = {}
    for path in paths:
        for checkpoint in _read(path):
            problem = checkpoint_problem(checkpoint, trusted)
            if problem is not None:
                raise EvidenceError(f"{_name(path)}: {problem}")
            found.setdefault(checkpoint.statement.number, checkpoint)
    if not found:
        raise EvidenceError(f"no checkpoint in {', '.join(map(_name, paths))}")
    return [found[n] for n in sorted(found)]


def _name(source: Path | str) -> str:
    text = str(source)
    return shown(text) if is_database_url(text) else text


def _read(source: Path | str) -> list[Checkpoint]:
    text = str(source)
    if is_database_url(text):
        return read_witness_database(text)
    return read_witness_file(Path(text))


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
