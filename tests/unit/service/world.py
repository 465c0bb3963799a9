"""The service layer wired as bootstrap wires it, over fakes: a MemoryStore, a FixedClock,
memory connectors and keys made at test time. No database, no network."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import connectors
from connectors.memory import MemoryConnector
from gateway.crypto.signing import (
    MessageSigner,
    MessageVerifier,
    generate_ed25519_key,
    parse_signing_key,
    parse_verifying_key,
    public_text_of,
)
from gateway.domain.messages import HandoffKind, HandoffState, HotlineEvent, Lane
from gateway.domain.workorder import WorkOrderIn
from gateway.mapping.calendars import ChineseWorkdays
from gateway.mapping.loader import load_mappings
from gateway.service.deadlines.setting import DeadlineSetter
from gateway.service.deadlines.supervision import AutoSupervision
from gateway.service.deadlines.watch import DeadlineWatch
from gateway.service.delivery.dispatcher import Dispatcher, DispatchSettings
from gateway.service.directory import Directory
from gateway.service.orders.agency_updates import AgencyUpdates
from gateway.service.orders.hotline_events import HotlineEvents
from gateway.service.orders.intake import Intake, IntakeResult
from gateway.service.orders.status_sync import StatusSync
from gateway.service.orders.transitions import OrderSteps
from gateway.service.ports.queries import HandoffView
from gateway.service.ports.store import StoredOrder
from gateway.service.ports.transport import Outcome
from gateway.settings import REPO_ROOT
from tests.fakes import FixedClock, MemoryStore

CITY = "city-management"
#: one key for every agency's messages and one for ours, made once per test run
AGENCY_KEY = generate_ed25519_key()
GATEWAY_KEY = generate_ed25519_key()


@lru_cache(maxsize=1)
def directory() -> Directory:
    """The repository's own mappings: profiles, catalogue and deadline policies."""
    mappings = load_mappings(
        REPO_ROOT / "mappings", "routing/catalogue.toml", connectors.TRANSPORTS
    )
    return Directory.from_mappings(mappings)


def submitted(flow_id: str = "GZ-1", **changes: Any) -> WorkOrderIn:
    """A valid complaint for the city management bureau, changed where asked."""
    fields: dict[str, Any] = {
        "flow_id": flow_id,
        "acceptance_no": f"SL-{flow_id}",
        "category": "complaint",
        "title": "夜间施工噪音扰民",
        "content": "某工地每晚十一点后仍在施工，噪音扰民。",
        "location": {"address": "广州市越秀区东风中路", "division_code": "440104"},
        "caller": {"name": "李先生", "phone": "13900001111"},
        "received_at": datetime.fromtimestamp(FixedClock().now, UTC).isoformat(),
        "route_to": [CITY],
    }
    return WorkOrderIn.model_validate({**fields, **changes})


def update(order_id: str, status: str, at: float, reason: str | None = None) -> dict[str, Any]:
    """An agency's status update about an order, in the agency's own status word."""
    occurred = datetime.fromtimestamp(at, UTC).isoformat()
    message = {"type": "status", "order_id": order_id, "status": status, "occurred_at": occurred}
    return {**message, "reason": reason} if reason else message


@dataclass
class World:
    """Intake, status sync, the deadline watch and the dispatcher over one MemoryStore and
    one FixedClock."""

    clock: FixedClock = field(default_factory=FixedClock)
    lanes_woken: list[tuple[Lane, ...]] = field(default_factory=list)  # each wake-up's lanes
    events_sent: int = 0

    def __post_init__(self) -> None:
        self.store = MemoryStore(self.clock)
        self.directory = directory()
        calendar = ChineseWorkdays()
        steps = OrderSteps(self.directory, self.clock)
        updates = AgencyUpdates(self.directory, steps, self.clock)
        deadlines = DeadlineSetter(self.directory, calendar)
        self.intake = Intake(self.store, self.directory, deadlines, self._woken, self.clock)
        verifiers = {
            name: MessageVerifier(
                [parse_verifying_key(public_text_of(AGENCY_KEY))], clock=self.clock
            )
            for name in self.directory.profiles
        }
        events = HotlineEvents(steps, self.clock, calendar)
        self.sync = StatusSync(
            self.store,
            self.directory,
            verifiers,
            self._woken,
            self.clock,
            updates,
            events,
            deadlines,
        )
        supervise = AutoSupervision(steps)
        self.watch = DeadlineWatch(
            self.store, self.directory, self._woken, self.clock, supervise=supervise
        )
        self.connectors = {name: MemoryConnector(name) for name in self.directory.profiles}
        signer = MessageSigner([parse_signing_key(GATEWAY_KEY)])
        self.dispatcher = Dispatcher(
            self.store,
            self.directory,
            self.connectors,
            dict.fromkeys(self.directory.profiles, signer),
            DispatchSettings(owner="unit-test", poll_interval=0.01),
            updates,
            clock=self.clock,
        )

    async def dispatch(self, timeout: float = 5.0) -> None:
        """Run the dispatcher until nothing is in flight or due (the clock stands still, so
        a retry scheduled for later waits; a held agency's handoffs wait too), then stop it
        as the gateway does."""
        running = asyncio.create_task(self.dispatcher.run())
        try:
            async with asyncio.timeout(timeout):
                await asyncio.sleep(2 * self.dispatcher.settings.poll_interval)  # a claim ran
                while not self._settled():
                    await asyncio.sleep(0.005)
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
            await self.dispatcher.drain()

    def _settled(self) -> bool:
        """Nothing in flight, and nothing the dispatcher could claim now: due, its agency
        not held, and the oldest open handoff of its order and agency (FIFO)."""
        now, held = self.clock(), self.store.run_sync(lambda uow: uow.agencies.held())
        first_open: set[tuple[str, str]] = set()
        for row in sorted(self.store.state.handoffs.values(), key=lambda r: r.seq):
            handoff = row.handoff
            if handoff.state == HandoffState.in_flight:
                return False
            if handoff.state != HandoffState.pending:
                continue
            key = (handoff.order_id, handoff.agency)
            claimable = key not in first_open and handoff.agency not in held
            first_open.add(key)
            if claimable and handoff.next_attempt_at <= now:
                return False
        return True

    @property
    def wake_ups(self) -> int:
        return len(self.lanes_woken)

    def _woken(self, *lanes: Lane) -> None:
        if lanes:  # as the dispatcher's: naming no lane wakes none
            self.lanes_woken.append(lanes)

    async def accept(self, order: WorkOrderIn) -> IntakeResult:
        """Run intake in one unit of work, as the API does."""
        return await self.store.write(lambda uow: self.intake.accept(uow, order))

    async def order(self, order_id: str) -> StoredOrder:
        stored = await self.store.read(lambda uow: uow.orders.get(order_id))
        assert stored is not None, f"no order {order_id}"
        return stored

    async def handoffs(self, order_id: str, kind: HandoffKind | None = None) -> list[HandoffView]:
        views = await self.store.read(lambda uow: uow.handoff_queries.for_order(order_id))
        return [view for view in views if kind is None or view.handoff.kind == kind]

    def audit_events(self, order_id: str) -> list[str]:
        """The order's audit events, oldest first."""
        return [r.event for r in self.store.audit_records() if r.order_id == order_id]

    def signed(self, msg_id: str, message: dict[str, Any]) -> tuple[dict[str, str], bytes]:
        """Headers and body of an agency message signed now."""
        body = json.dumps(message, ensure_ascii=False).encode()
        signer = MessageSigner([parse_signing_key(AGENCY_KEY)])
        return signer.headers(msg_id, body, int(self.clock())), body

    async def event(self, order_id: str, kind: str, **fields: Any) -> Outcome:
        """A hotline event, as the events API applies it."""
        self.events_sent += 1
        occurred = datetime.fromtimestamp(self.clock(), UTC).isoformat()
        body = {"type": kind, "event_id": f"e-{self.events_sent}", "occurred_at": occurred}
        return await self.sync.hotline_event(order_id, HotlineEvent(**body, **fields))

    async def send(self, agency: str, msg_id: str, message: dict[str, Any]) -> Outcome:
        """Post a signed agency message to status sync, as the inbound endpoint does."""
        headers, body = self.signed(msg_id, message)
        return await self.sync.receive(agency, headers, body)
