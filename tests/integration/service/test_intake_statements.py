"""What one intake asks of SQLite: an emergency order's watches are one row, written once.

The deadline cards and the 119/120 acknowledgement escalation used to be armed apart:
the second arm ran an INSERT that did nothing, a SELECT and an UPDATE of the same row.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr

from connectors.memory import MemoryConnector
from gateway.bootstrap import bootstrap
from gateway.crypto.signing import generate_ed25519_key
from gateway.domain.workorder import WorkOrderIn
from gateway.settings import Settings
from gateway.world.orders import sample_order

FIRE = "fire-119"


def test_an_emergency_intake_writes_its_watch_row_with_one_insert(sqlite_url: str) -> None:
    settings = Settings(
        database_url=sqlite_url,
        hotline_callback_url="memory://hotline",
        signing_keys=[SecretStr(generate_ed25519_key())],
    )
    gateway = bootstrap(settings, connector_overrides={FIRE: MemoryConnector(FIRE)})
    submitted = WorkOrderIn.model_validate(
        sample_order(
            "GZ-EM-1",
            category="help",
            urgency="emergency",
            route_to=[FIRE],
            received_at=datetime.now(UTC).isoformat(),
        )
    )
    statements: list[str] = []
    traced: list[Any] = []

    def accept(uow: Any) -> Any:
        traced.append(uow.watches.conn.connection.driver_connection)
        traced[0].set_trace_callback(statements.append)
        return gateway.intake.accept(uow, submitted)

    try:
        result = gateway.store.run_sync(accept)  # its deferred writes and commit included
        traced[0].set_trace_callback(None)
        watches = gateway.store.run_sync(lambda uow: uow.watches.for_order(result.order.id))
    finally:
        asyncio.run(gateway.store.aclose())
    on_watches = [s.split(None, 1)[0].upper() for s in statements if "order_watches" in s]
    assert on_watches == ["INSERT"]
    kinds = {(watch.kind, watch.level, watch.agency) for watch, _ in watches}
    assert ("emergency_ack", "escalation", FIRE) in kinds
    assert ("resolve", "red", "") in kinds
