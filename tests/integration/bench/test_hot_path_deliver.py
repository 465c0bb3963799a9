"""bench.hot_path's delivery figure: every transfer and callback reaches the loopback sink,
on either database, and on PostgreSQL the server's CPU is counted beside the gateway's."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from bench.hot_path import built_app, deliver_all, loopback_sink, server_clock, take_in
from bench.orders import consult
from gateway.domain.workorder import WorkOrderIn

ORDERS = 20  # enough for the server's CPU to pass one clock tick (10 ms) on PostgreSQL


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_the_deliver_figure_covers_each_orders_transfer_and_callback(store: str) -> None:
    loop = asyncio.new_event_loop()
    with loopback_sink() as url, built_app(url, store) as app:
        gateway = app.state.gateway
        orders = [
            WorkOrderIn.model_validate(consult(f"deliver-{time.time_ns()}-{n}"))
            for n in range(ORDERS)
        ]
        server = server_clock(app)
        try:
            loop.run_until_complete(take_in(gateway, orders))
            spent, server_spent = loop.run_until_complete(deliver_all(gateway, server))
            for connector in gateway.connectors.values():
                loop.run_until_complete(connector.aclose())
        finally:
            loop.close()
        counts = httpx.get(f"{url}/counts", timeout=10).json()
    assert counts == {"/orders": ORDERS, "/callbacks": ORDERS}  # a transfer and a callback an order
    assert spent > 0
    if store == "sqlite":
        assert server is None and server_spent == 0  # no server: SQLite runs in this process
    else:
        assert server_spent > 0  # the backends' /proc counters moved while they served it
