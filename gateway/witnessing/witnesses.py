"""Witnesses: where checkpoints are kept outside the database.

- `FileWitness` appends one JSON line per checkpoint to a file (opened for appending
  only, fsync'd after each line). Kept on another disk or machine, or shipped off by the
  operator's log tooling, it is what `lianxin audit verify --witness FILE` checks the
  chain against.
- `HttpWitness` POSTs each checkpoint as JSON to a URL (the hotline platform's callback,
  say); any 2xx is taken as kept. The checkpoint carries its own signature.

A line (and a POST body) is `{"checkpoint": {statement, signature, public_key,
timestamp}, "leaves": "<16 hex characters of each entry hash>"}`: the leaves only help
name the first entry that no longer matches; the signed root is the proof.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import httpx

from gateway.domain.checkpoint import Checkpoint
from gateway.domain.errors import EvidenceError, WitnessError


def witness_line(checkpoint: Checkpoint) -> dict[str, Any]:
    """What a witness keeps of a checkpoint."""
    return {"checkpoint": checkpoint.to_json(), "leaves": checkpoint.leaves}


class FileWitness:
    """An append-only JSON-lines file of checkpoints."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = f"file:{path}"

    async def record(self, checkpoint: Checkpoint) -> None:
        line = json.dumps(witness_line(checkpoint), sort_keys=True, ensure_ascii=False) + "\n"
        try:
            await asyncio.to_thread(self._append, line.encode())
        except OSError as exc:
            raise WitnessError(f"cannot append to {self.path}: {exc}") from exc

    def _append(self, data: bytes) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)


class HttpWitness:
    """POSTs each checkpoint to a URL; a 2xx answer means it is kept."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url
        self.name = f"http:{url}"
        self.timeout = timeout

    async def record(self, checkpoint: Checkpoint) -> None:
        body = {"type": "audit.checkpoint", **witness_line(checkpoint)}
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                answer = await client.post(self.url, json=body)
        except httpx.HTTPError as exc:
            raise WitnessError(f"{self.url}: {exc!r}") from exc
        if not answer.is_success:
            raise WitnessError(f"{self.url} answered {answer.status_code}")


def read_witness_file(path: Path) -> list[Checkpoint]:
    """The checkpoints a witness file holds, one per number (repeats must agree)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvidenceError(f"cannot read witness file {path}: {exc}") from exc
    found: dict[int, Checkpoint] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        checkpoint = parse_witness_line(path, number, line)
        kept = found.setdefault(checkpoint.statement.number, checkpoint)
        if kept != checkpoint:
            again = checkpoint.statement.number
            raise EvidenceError(f"{path}:{number}: checkpoint {again} appears twice, differently")
    return [found[n] for n in sorted(found)]


def parse_witness_line(path: Path | str, number: int, line: str) -> Checkpoint:
    """One witness line (file line or database row `number` of `path`) as a checkpoint."""
    try:
        data = json.loads(line)
        return Checkpoint.from_json(data["checkpoint"], str(data.get("leaves", "")))
    except (ValueError, KeyError, TypeError) as exc:
        raise EvidenceError(f"{path}:{number}: not a witness line ({exc})") from exc
