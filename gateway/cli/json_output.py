"""`--json` output shared by the listing commands: one JSON document on stdout, for machines.

Times are ISO 8601 in UTC; keys never carry secret material.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.service.ports.crypto import KeyRecord
    from gateway.service.ports.queries import DeadLetter


def add_option(parser: argparse.ArgumentParser) -> None:
    """Add `--json` to one command."""
    parser.add_argument("--json", action="store_true", help="one JSON document, for machines")


def emit(document: Any) -> None:
    """Print `document` as indented JSON, Chinese text as is."""
    print(json.dumps(document, ensure_ascii=False, indent=2))


def iso(epoch: float | None) -> str | None:
    """An epoch time as ISO 8601 UTC, or None."""
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat()


def dead_letter(d: DeadLetter) -> dict[str, Any]:
    """One dead letter as `deliveries list --json` shows it."""
    return {
        "id": d.id,
        "order_id": d.order_id,
        "agency": d.agency,
        "kind": d.kind,
        "lane": d.lane,
        "attempts": d.attempts,
        "last_status": d.last_status,
        "last_error": d.last_error,
        "created_at": iso(d.created_at),
    }


def key_record(r: KeyRecord) -> dict[str, Any]:
    """One rotated key as `keys list --json` shows it: never its material."""
    return {
        "owner": r.owner,
        "key_id": r.key_id,
        "scheme": r.scheme,
        "state": r.state,
        "created_at": iso(r.created_at),
        "retire_at": iso(r.retire_at),
    }
