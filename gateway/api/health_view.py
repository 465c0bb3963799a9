"""Agency health as the API and the browser console read it from a running gateway.

The store's numbers come from the read path (no writer is held); the circuit states come
from this process's dispatcher, the only place they live.
"""

from __future__ import annotations

from gateway.bootstrap import Gateway
from gateway.service.ports.store import UnitOfWork
from gateway.service.views.health import AgencyHealth, check_window, read_health


async def agency_health(gw: Gateway, window: float = 3600.0) -> list[AgencyHealth]:
    """Reads in the store's read path; circuits from gw.dispatcher.breakers.states()."""
    check_window(window)  # refused before any reading
    circuits = {name: state.name for name, state in gw.dispatcher.breakers.states().items()}
    now = gw.dispatcher.clock()

    def read(uow: UnitOfWork) -> list[AgencyHealth]:
        return read_health(uow, gw.directory, circuits, now, window)

    return await gw.store.read(read)
