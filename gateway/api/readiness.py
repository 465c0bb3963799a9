"""What `/readyz` checks: a gateway is ready only when it can do its work.

Not ready when the database cannot be reached or refuses a write (a probe row is
rewritten each time), when its schema is not the one this code expects, when the newest
stored order and handoff cannot be opened with the configured data keys, when the
dispatcher is not running, or when a configured MQTT broker is unreachable.
"""

from __future__ import annotations

import asyncio
import time

from gateway.bootstrap import Gateway
from gateway.domain.errors import SealedDataError, StoreUnavailable


async def problems(gw: Gateway) -> list[str]:
    """Everything that keeps this gateway from being ready; empty when it is ready."""
    found = [*await _database(gw), *_transports(gw)]
    if not gw.running:
        found.append("the dispatcher is not running")
    return found


async def _database(gw: Gateway) -> list[str]:
    try:
        lag = await asyncio.to_thread(gw.store.schema_lag)
    except Exception as exc:  # readiness reports, it does not raise
        return [f"the database cannot be reached: {_short(exc)}"]
    found = [lag] if lag is not None else []
    node, now = gw.settings.node_id, time.time()
    try:
        await gw.store.write(lambda uow: uow.security.probe_write(node, now), audited=False)
    except StoreUnavailable as exc:
        found.append(exc.message)
    except Exception as exc:
        found.append(f"the database cannot be written: {_short(exc)}")
    try:
        await gw.store.read(lambda uow: uow.security.open_newest_sealed())
    except SealedDataError as exc:
        found.append(f"stored data cannot be opened with LIANXIN_DATA_KEYS: {exc.message}")
    except Exception as exc:
        found.append(f"the database cannot be read: {_short(exc)}")
    return found


def _transports(gw: Gateway) -> list[str]:
    return [
        f"the MQTT broker of '{name}' is unreachable"
        for name, connector in gw.connectors.items()
        if getattr(connector, "broker_connected", None) is False
    ]


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
