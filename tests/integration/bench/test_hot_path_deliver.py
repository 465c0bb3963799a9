"""bench.hot_path's delivery figure: every transfer and callback reaches the loopback sink."""

from __future__ import annotations

import asyncio
import time

import httpx

from bench.hot_path import built_app, deliver_all, loopback_sink, take_in
from bench.orders import consult
from gateway.domain.workorder import WorkOrderIn


def test_the_deliver_figure_covers_each_orders_transfer_and_callback() -> None:
    loop = asyncio.new_event_loop()
    with loopback_sink() as url, built_app(url) as app:
        gateway = app.state.gateway
        orders = [
            WorkOrderIn.model_validate(consult(f"deliver-{time.time_ns()}-{n}")) for n in range(5)
        ]
        try:
            loop.run_until_complete(take_in(gateway, orders))
            spent = loop.run_until_complete(deliver_all(gateway))
            for connector in gateway.connectors.values():
                loop.run_until_complete(connector.aclose())
        finally:
            loop.close()
        counts = httpx.get(f"{url}/counts", timeout=10).json()
    assert counts == {"/orders": 5, "/callbacks": 5}  # a transfer and a callback an order
    assert spent > 0
