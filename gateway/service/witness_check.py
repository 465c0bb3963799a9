"""Checking the chain in the database against checkpoints kept by a witness.

The hash chain alone cannot tell a consistent rewrite from the original: whoever can
write the database can re-hash every entry and move the head. Checkpoints kept outside
it can: each names the Merkle root of its entries and the hash of its last one, signed.
This walks the stored entries in order beside the witnessed checkpoints and names the
first entry that no longer matches, or the first one missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gateway.domain.checkpoint import LEAF_PREFIX, Checkpoint
from gateway.service import merkle


@dataclass(frozen=True)
class WitnessReport:
    """The outcome: ok, or the first entry that no longer matches and why."""

    checkpoints: int
    entries: int  # entries compared with a witnessed checkpoint
    ok: bool
    seq: int | None = None
    problem: str | None = None


def check_witnessed(
    rows: Iterable[tuple[int, str]], checkpoints: Sequence[Checkpoint]
) -> WitnessReport:
    """Compare (seq, entry_hash) rows, in sequence order, with witnessed `checkpoints`."""
    walk = WitnessWalk(checkpoints)
    for seq, entry_hash in rows:
        report = walk.take(seq, entry_hash)
        if report is not None:
            return report
    return walk.finish()


class WitnessWalk:
    """Entries fed in sequence order, compared with the witnessed checkpoints covering them."""

    def __init__(self, checkpoints: Sequence[Checkpoint]) -> None:
        self.checkpoints = sorted(checkpoints, key=lambda c: c.statement.first)
        self.index = 0
        self.hashes: list[str] = []
        self.compared = 0
        self.last_seq = 0

    def take(self, seq: int, entry_hash: str) -> WitnessReport | None:
        """Compare one entry; the report when it is the first that does not match."""
        self.last_seq = seq
        if self.index < len(self.checkpoints) and self._current.statement.last < seq:
            missing = self._current.statement.first + len(self.hashes)
            return self._fail(missing, f"entry {missing} is missing")
        if self.index >= len(self.checkpoints) or seq < self._current.statement.first:
            return None  # not covered by any witnessed checkpoint
        checkpoint = self._current
        position = seq - checkpoint.statement.first
        if position != len(self.hashes):
            missing = checkpoint.statement.first + len(self.hashes)
            return self._fail(missing, f"entry {missing} is missing")
        if not merkle.NODE_HEX.fullmatch(entry_hash):
            return self._fail(seq, f"entry {seq}: its hash is not 64 lowercase hex digits")
        wanted = checkpoint.leaves[position * LEAF_PREFIX : (position + 1) * LEAF_PREFIX]
        if wanted and not entry_hash.startswith(wanted):
            return self._fail(seq, f"entry {seq} does not match witnessed {self._name}")
        self.hashes.append(entry_hash)
        self.compared += 1
        return self._close() if seq == checkpoint.statement.last else None

    def _close(self) -> WitnessReport | None:
        statement = self._current.statement
        tree = merkle.root([bytes.fromhex(h) for h in self.hashes])
        if tree != statement.root or self.hashes[-1] != statement.head:
            return self._fail(
                statement.first,
                f"entries {statement.first}-{statement.last} do not match the root of "
                f"witnessed {self._name} (first entry of that checkpoint named)",
            )
        self.index += 1
        self.hashes = []
        return None

    def finish(self) -> WitnessReport:
        """The report once every entry has been fed."""
        if self.index < len(self.checkpoints):
            statement = self._current.statement
            missing = statement.first + len(self.hashes)
            return self._fail(
                missing,
                f"entry {missing} is missing: witnessed {self._name} covers entries "
                f"{statement.first}-{statement.last}, the chain ends at entry {self.last_seq}",
            )
        return WitnessReport(len(self.checkpoints), self.compared, True)

    @property
    def _current(self) -> Checkpoint:
        return self.checkpoints[self.index]

    @property
    def _name(self) -> str:
        return f"checkpoint {self._current.statement.number}"

    def _fail(self, seq: int, problem: str) -> WitnessReport:
        return WitnessReport(len(self.checkpoints), self.compared, False, seq, problem)
