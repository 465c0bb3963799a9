"""The demo's evidence step: one order's bundle fetched, written and verified offline, and
the whole chain checked against the demo's witness file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from gateway.bootstrap import open_sql_store
from gateway.domain.errors import EvidenceError
from gateway.service.bundle_check import verify_bundle
from gateway.witnessing.check import verify_against, witnessed_checkpoints

WITNESS_FILE = "witness.jsonl"


def show_evidence(
    client: httpx.Client,
    order_id: str,
    workdir: Path,
    database_url: str,
    say: Callable[[str], None],
) -> bool:
    """Fetch, write and verify `order_id`'s bundle, then check the chain against the
    witness; True when both verify."""
    answer = client.get(f"/v1/work-orders/{order_id}/evidence")
    path = workdir / f"evidence-{order_id}.json"
    path.write_bytes(answer.content)
    try:
        report = verify_bundle(answer.content)
        checkpoints = witnessed_checkpoints([workdir / WITNESS_FILE], None)
    except EvidenceError as exc:
        say(f"evidence NOT verified: {exc.message}")
        return False
    say(
        f"evidence bundle {path.name}: {report.entries} audit entries, {report.messages} "
        f"messages, checkpoints {report.checkpoints}: verified offline"
    )
    store = open_sql_store(database_url)
    try:
        chain, witness = verify_against(store, checkpoints)
    finally:
        store.engine.dispose()
    say(
        f"witness {WITNESS_FILE}: {witness.checkpoints} signed checkpoints, "
        f"{witness.entries} entries match" + ("" if witness.ok else f"; {witness.problem}")
    )
    return chain.ok and witness.ok
