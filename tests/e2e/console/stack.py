"""A gateway on loopback for the console's browser tests and screenshots: SQLite, API tokens
for an admin, an operator, a viewer and the hotline, the simulated world's hotline, 12366
tax and city management (which can be told to fail), and orders taken in through intake.

Agencies without a simulator keep their mapping's loopback endpoint, where nothing
listens: deliveries to them fail and are retried, as in a real outage.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr

from connectors.simulators.agency import AgencySimulator
from connectors.simulators.server import ServerThread
from gateway.api.app import create_app
from gateway.crypto.sealing import generate_data_key
from gateway.domain.workorder import WorkOrderIn
from gateway.service.ports.queries import DeadLetterFilter
from gateway.settings import Settings
from gateway.world.orders import sample_order
from gateway.world.simulated import serve_simulators

SIMULATED = ("tax-12366", "city-management")
HOLDERS = {"admin": "ops-zhang", "operator": "ops-li", "viewer": "watch-wang"}


@dataclass
class ConsoleStack:
    """The running gateway, its simulated agencies and the tokens that log in."""

    url: str
    app: Any
    agencies: dict[str, AgencySimulator]
    tokens: dict[str, str]  # role → token
    database_url: str

    def submit(self, order: dict[str, Any]) -> str:
        """Take `order` in through the gateway's own intake; its id."""
        gw = self.app.state.gateway
        submitted = WorkOrderIn.model_validate(order)
        result = gw.store.run_sync(lambda uow: gw.intake.accept(uow, submitted))
        gw.dispatcher.wake_all()
        return str(result.order.id)

    def dead(self, agency: str) -> int:
        """How many of `agency`'s deliveries are dead letters now."""
        gw = self.app.state.gateway
        which = DeadLetterFilter(agency)
        return int(
            gw.store.run_sync(lambda uow: uow.handoff_queries.count_dead(which), writes=False)
        )

    def state_of(self, order_id: str, agency: str) -> str:
        """The state of the order's handoff to `agency`."""
        gw = self.app.state.gateway
        views = gw.store.run_sync(lambda uow: uow.handoff_queries.for_order(order_id), writes=False)
        return str(next(v.handoff.state for v in views if v.handoff.agency == agency))


def tokens() -> dict[str, str]:
    """A fresh token for each console role and the hotline."""
    return {role: f"{role}-{secrets.token_hex(16)}" for role in (*HOLDERS, "hotline")}


def order(flow_id: str, title: str, **changes: Any) -> dict[str, Any]:
    """The world's sample order, received now (deadlines far ahead: no alerts muddle the pages)."""
    content = f"市民来电：{title}。请尽快答复。"
    received = datetime.now(UTC).isoformat()
    return sample_order(flow_id, title=title, content=content, received_at=received, **changes)


@contextmanager
def console_stack(
    database_url: str,
    api_tokens: dict[str, str] | None = None,
    open_api: bool = False,
    session_key: str | None = None,
) -> Iterator[ConsoleStack]:
    """Start the simulators and the gateway; stop everything afterwards."""
    held = api_tokens if api_tokens is not None else tokens()
    with ExitStack() as stack:
        gateway_server = ServerThread()
        world = serve_simulators(stack, [gateway_server.url])
        values = world.gateway_settings()
        settings = Settings(
            **{
                **values,  # only the simulated agencies: the others' endpoints are the mappings'
                "agency_endpoints": {a: values["agency_endpoints"][a] for a in SIMULATED},
                "agency_keys": {a: values["agency_keys"][a] for a in SIMULATED},
            },
            database_url=database_url,
            data_keys=[SecretStr(generate_data_key())],
            api_tokens=_book(held),
            open_api=open_api,
            console_session_key=SecretStr(session_key) if session_key else None,
            poll_interval=0.2,
            node_id=f"console-{secrets.token_hex(3)}",
        )
        app = create_app(settings)
        gateway_server.start(app)
        stack.callback(gateway_server.stop)
        agencies = {a: world.simulators.agencies[a] for a in SIMULATED}
        yield ConsoleStack(gateway_server.url, app, agencies, held, database_url)


def _book(held: dict[str, str]) -> dict[str, dict[str, str]]:
    names = {**HOLDERS, "hotline": "guangzhou-12345"}
    return {names[role]: {"role": role, "token": token} for role, token in held.items()}
