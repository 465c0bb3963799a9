"""The outbox dispatcher: claim due handoffs, sign, deliver, record what happened.

Each lane (emergency, normal) has its own claim loop, so a backlog of normal handoffs
never delays an emergency one. Claims take a lease: a process that dies mid-delivery
leaves rows whose lease runs out, and any process claims them again with the same
idempotency id. Each attempt ends well inside its lease, and its outcome counts only
while its claim holds the handoff (`gateway.service.delivery.fencing`). Each attempt is
signed once: here, over the JSON body, or by a connector that signs what it really
sends (a SOAP call, a board reply: see `Connector`). Outcomes are written in batches by
one recorder (group commit), each with its audit entries, which name the signature that
went out; a transfer acknowledged by the lead agency marks the order dispatched and
tells the hotline platform.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from gateway.crypto.signing import MessageSigner
from gateway.domain.assignments import Assignment, Step
from gateway.domain.audit import AuditKind
from gateway.domain.errors import DeliveryError, PermanentDelivery, TransientDelivery
from gateway.domain.messages import HOTLINE, Delivery, Handoff, HandoffKind, Lane, Receipt, Sign
from gateway.domain.workorder import WorkOrder
from gateway.mapping.profiles import AgencyProfile
from gateway.service.delivery.attempts import (
    Attempt,
    SentSignature,
    delivery_entry,
    handoff_entry,
    sent_detail,
)
from gateway.service.delivery.circuit import Breakers
from gateway.service.delivery.fencing import (
    attempt_deadline,
    deadline_passed,
    record_stale,
    settle_failure,
)
from gateway.service.delivery.outbox import noting_lanes
from gateway.service.delivery.retry import next_delay
from gateway.service.directory import Directory
from gateway.service.log_context import bind
from gateway.service.operations.agency_alerts import Tally, record_standings
from gateway.service.operations.alerts import raise_alert
from gateway.service.orders import assignments
from gateway.service.orders.agency_updates import AgencyUpdates
from gateway.service.ports.store import Delivered, Store, UnitOfWork
from gateway.service.ports.telemetry import Metrics
from gateway.service.ports.transport import Connector, signs_what_it_sends
from gateway.service.tracing import Attributes, NoMetrics, NoTracing, Tracing

log = logging.getLogger("lianxin.dispatch")


@dataclass(frozen=True)
class DispatchSettings:
    """How hard the dispatcher works."""

    owner: str
    batch: int = 64
    capacity: int = 256
    poll_interval: float = 1.0
    lease_seconds: float = 60.0
    attempt_seconds: float | None = None  # None: 3/4 of the lease (fencing.ATTEMPT_SHARE)

    def __post_init__(self) -> None:
        attempt_deadline(self.attempt_seconds, self.lease_seconds)  # refuses a bad one

    @property
    def attempt_deadline(self) -> float:
        """Seconds from its claim after which an attempt is cut (a transient failure)."""
        return attempt_deadline(self.attempt_seconds, self.lease_seconds)


class Dispatcher:
    """Moves handoffs from the outbox to the agencies."""

    def __init__(
        self,
        store: Store,
        directory: Directory,
        connectors: Mapping[str, Connector],
        signers: Mapping[str, MessageSigner],
        settings: DispatchSettings,
        updates: AgencyUpdates,
        clock: Callable[[], float] = time.time,
        metrics: Metrics | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self.store = store
        self.tracing: Tracing = tracing or NoTracing()
        self.metrics: Metrics = metrics or NoMetrics()
        self.directory = directory
        self.connectors = connectors
        self.signers = signers
        self.settings = settings
        self.clock = clock
        self._wake = {lane: asyncio.Event() for lane in Lane}
        self._limits = {
            (name, lane): asyncio.Semaphore(profile.concurrency)
            for name, profile in directory.profiles.items()
            for lane in Lane
        }
        self._busy = dict.fromkeys(Lane, 0)
        self._freed = {lane: asyncio.Event() for lane in Lane}
        self._per_agency: Counter[str] = Counter()
        # agencies whose last claim took their whole quota: the end of one of their
        # attempts wakes the lane (they may have more due, and room for it now)
        self._filled: dict[Lane, set[str]] = {lane: set() for lane in Lane}
        self._outcomes: dict[Lane, asyncio.Queue[Attempt]] = {
            lane: asyncio.Queue() for lane in Lane
        }
        self._tasks: set[asyncio.Task[None]] = set()
        self.breakers = Breakers({name: p.circuit for name, p in directory.profiles.items()})
        self.updates = updates  # what a receipt implies (a dispatch) moves orders as agencies do

    def wake(self, *lanes: Lane) -> None:
        """Tell `lanes`, and no other, that new handoffs are waiting (called after each
        commit that queued some; none named wakes none). A lane woken for nothing runs a
        claim that finds nothing: a transaction of its own."""
        for lane in lanes:
            self._wake[lane].set()

    def wake_all(self) -> None:
        """Tell every lane to claim now: after start-up, a replay, a revived dead letter
        or an agency resumed, whose handoffs may stand in any lane."""
        self.wake(*Lane)

    async def run(self) -> None:
        """Run both lanes and the recorder until cancelled."""
        async with asyncio.TaskGroup() as group:
            for lane in Lane:
                group.create_task(self._record_loop(lane))
                group.create_task(self._claim_loop(lane))

    async def drain(self) -> None:
        """Wait for deliveries under way to finish and their outcomes to be written."""
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=self.settings.lease_seconds)
        for lane in Lane:
            await self._flush_outcomes(lane)

    async def _claim_loop(self, lane: Lane) -> None:
        wake = self._wake[lane]
        while True:
            wake.clear()
            claimed, deadline, full = await self._claim(lane)
            for handoff in claimed:
                task = asyncio.create_task(self._attempt(handoff, deadline))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            if full:  # it took all the room it had: more may be due now
                continue
            # Nothing more was due when it claimed (each agency got less than its quota):
            # claiming again at once finds nothing, a transaction of its own. New handoffs
            # wake the lane (a wake during the claim is still set), an agency that filled
            # its quota wakes it when one of its attempts ends, retries come due by the poll.
            # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation
            # that meets the wake-up, and the lane then never stops
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.poll_interval):
                    await wake.wait()

    async def _claim(self, lane: Lane) -> tuple[list[Handoff], float, bool]:
        """Lease due handoffs; them, the loop time at which their attempts are cut, and
        whether the claim was full (more may be due: claim again at once)."""
        while self._busy[lane] >= self.settings.capacity:  # wait for room before leasing more
            self._freed[lane].clear()
            await self._freed[lane].wait()
        free = min(self.settings.batch, self.settings.capacity - self._busy[lane])
        now = self.clock()
        deadline = asyncio.get_running_loop().time() + self.settings.attempt_deadline
        in_flight = dict(self._per_agency)  # read here: the loop changes it, not the writer

        def claim(uow: UnitOfWork) -> tuple[list[Handoff], dict[str, int]]:
            # The claim itself passes over held (disabled, paused) agencies; they are read
            # first only when a circuit may give one of them its probe, which it would
            # then wait a cool-down for (a read of its own in every claim, otherwise).
            probing = lane == Lane.normal and not self.breakers.all_closed()
            held = uow.agencies.held() if probing else set[str]()
            quotas = self._quotas(free, held, in_flight)
            if lane == Lane.normal:  # an emergency is never held by a circuit
                quotas = self.breakers.limit(quotas, now)
            lease_until, owner = now + self.settings.lease_seconds, self.settings.owner
            return uow.handoffs.claim(now, quotas, lane, lease_until, owner, limit=free), quotas

        try:
            # a claim appends no audit entry: on PostgreSQL it need not wait for the chain
            claimed, quotas = await self.store.write(
                claim, urgent=lane == Lane.emergency, audited=False
            )
        except Exception:
            log.exception("claiming %s handoffs failed; trying again after the poll interval", lane)
            return [], deadline, False
        self._busy[lane] += len(claimed)
        taken = Counter(handoff.agency for handoff in claimed)
        self._per_agency.update(taken)
        filled = {agency for agency, n in taken.items() if n >= quotas.get(agency, 0)}
        self._filled[lane].update(filled)
        return claimed, deadline, len(claimed) >= free

    def _quotas(self, free: int, disabled: set[str], in_flight: dict[str, int]) -> dict[str, int]:
        """How many handoffs each agency may take now: up to twice its concurrency in
        flight, none for disabled agencies, `free` at most. The claim takes `free` at most
        in all, shared out in turns among the agencies that have handoffs due: an agency
        alone with a backlog gets its whole room (a share of `free` split over every
        agency, most of them idle, cut claims to a few handoffs each)."""
        quotas = {}
        for name, profile in self.directory.profiles.items():
            room = min(2 * profile.concurrency - in_flight.get(name, 0), free)
            if room > 0 and name not in disabled:
                quotas[name] = room
        return quotas

    async def _attempt(self, handoff: Handoff, deadline: float) -> None:
        # each attempt is a task of its own, with its own copy of the context: the ids
        # are bound for the rest of it, with no block to leave
        bind(order_id=handoff.order_id, handoff_id=handoff.id, agency=handoff.agency)
        if not self.tracing.active:  # no span machinery per attempt when nothing records it
            await self._attempt_traced(handoff, deadline)
            return
        span: Attributes = {
            "order_id": handoff.order_id,
            "handoff_id": handoff.id,
            "agency": handoff.agency,
            "attempt": handoff.attempts,
            "lane": handoff.lane.value,
        }
        parent = handoff.traceparent  # the trace the handoff was written in
        with self.tracing.span("delivery attempt", span, parent=parent):
            await self._attempt_traced(handoff, deadline)

    async def _attempt_traced(self, handoff: Handoff, deadline: float) -> None:
        profile = self.directory.profile(handoff.agency)
        sent = SentSignature()  # filled as the attempt is signed
        started = self.clock()
        receipt: Receipt | None = None
        error: DeliveryError | None = None
        try:
            receipt = await self._deliver(handoff, profile, sent, deadline)
        except DeliveryError as exc:
            error = exc
        except Exception as exc:  # a connector bug must not lose the handoff
            log.exception("connector for %s failed unexpectedly", handoff.agency)
            error = TransientDelivery(f"unexpected {type(exc).__name__}: {exc}")
        finally:
            self._busy[handoff.lane] -= 1
            self._per_agency[handoff.agency] -= 1
            self._freed[handoff.lane].set()
            if handoff.agency in self._filled[handoff.lane]:  # it may have more due: claim
                self._filled[handoff.lane].discard(handoff.agency)
                self._wake[handoff.lane].set()
        if error is not None:  # logged here, in the attempt's context (ids, trace)
            log.warning("delivery attempt %d failed: %s", handoff.attempts, error.message)
        attempt = Attempt(
            handoff,
            profile.endpoint,
            sent.signature,
            started,
            self.clock(),
            receipt,
            error,
            wire_digest=sent.wire_digest,
        )
        if self.breakers.record(handoff.agency, attempt.error is not None, attempt.finished):
            attempt = replace(attempt, circuit_opened=True)
        self._outcomes[handoff.lane].put_nowait(attempt)

    async def _deliver(
        self, handoff: Handoff, profile: AgencyProfile, sent: SentSignature, deadline: float
    ) -> Receipt:
        """Wait for a slot, sign and deliver, all before `deadline` (loop time): an attempt
        never outlives its lease, whatever its connector does with its own timeouts."""
        window = asyncio.timeout_at(deadline)
        reached = False  # whether it got a slot and reached its connector
        try:
            async with window, self._limits[handoff.agency, handoff.lane]:
                reached = True
                connector = self.connectors[handoff.agency]
                signer = self.signers[handoff.agency]
                delivery = _delivery(handoff, profile, connector, signer.headers, sent)
                if not self.tracing.active:
                    return await connector.deliver(delivery)
                call = {"agency": handoff.agency, "handoff_id": handoff.id}
                with self.tracing.span(f"deliver to {handoff.agency}", call, client=True):
                    self.tracing.inject(delivery.headers)  # traceparent: this outbound call
                    return await connector.deliver(delivery)
        except TimeoutError as exc:
            if not window.expired():
                raise  # the connector's own, not the deadline: handled as unexpected
            limits = self.settings
            raise deadline_passed(
                limits.attempt_deadline, limits.lease_seconds, sent=reached
            ) from exc

    async def _record_loop(self, lane: Lane) -> None:
        outcomes = self._outcomes[lane]
        while True:
            first = await outcomes.get()
            outcomes.put_nowait(first)
            await self._flush_outcomes(lane)

    async def _flush_outcomes(self, lane: Lane) -> None:
        """Record a batch of one lane's outcomes in one transaction (group commit)."""
        outcomes, batch = self._outcomes[lane], list[Attempt]()
        while not outcomes.empty() and len(batch) < 512:
            batch.append(outcomes.get_nowait())
        if not batch:
            return
        try:
            _, queued = await self.store.write(
                noting_lanes(lambda uow: self._record_batch(uow, batch)),
                urgent=lane == Lane.emergency,
            )
        except Exception:
            # The leases run out and the handoffs are claimed again: nothing is lost.
            log.exception("recording %d delivery outcomes failed", len(batch))
            return
        self.wake(*queued)  # only the lanes that got new handoffs: a callback to the
        # hotline of a normal order wakes no emergency claim

    def _record_batch(self, uow: UnitOfWork, batch: list[Attempt]) -> None:
        """Record each outcome, then what they say about the agencies' health (alerts).

        The receipts go first, all in one statement, with the reads of the orders their
        transfers move and, if any was answered, of the agencies' standings (on
        PostgreSQL one round trip for the three): a batch costs a few statements, not a
        few per outcome. The orders are read (and locked) before the receipts' handoffs,
        as intake and status updates lock them: an order, then its handoffs."""
        tally = Tally()
        receipts = [
            Delivered(a.handoff.id, a.handoff.claim, a.finished, a.receipt)
            for a in batch
            if a.receipt is not None
        ]
        moving = [
            a.handoff.order_id
            for a in batch
            if a.receipt is not None and a.handoff.kind == HandoffKind.transfer
        ]
        if moving:  # a receipt whose claim no longer holds moves nothing: read in vain
            uow.orders.read_ahead(moving)
        if receipts:
            uow.standings.read_ahead()
        recorded = uow.handoffs.delivered_all(receipts)
        fenced = [(a.handoff.id, a.handoff.claim) in recorded for a in batch]
        for attempt, held in zip(batch, fenced, strict=True):
            self._record(uow, attempt, tally, held)
        record_standings(uow, self.directory, tally, self.clock())

    def _record(self, uow: UnitOfWork, attempt: Attempt, tally: Tally, fenced: bool) -> None:
        """Record one attempt: one audit entry names what was signed, sent and answered.
        `fenced`: its receipt, if it had one, was recorded (its claim still held)."""
        handoff = attempt.handoff
        seconds = attempt.finished - attempt.started
        if attempt.receipt is not None:
            self.metrics.attempt(handoff.agency, "delivered" if fenced else "stale", seconds)
            if not fenced:
                record_stale(uow, attempt)
                return
            tally.delivered(handoff.agency)
            self._acknowledged(uow, attempt, attempt.receipt)
            return
        error = attempt.error
        assert error is not None
        outcome = self._failed(uow, attempt, error)
        # counted when recorded: a group commit that fails is counted again on the retry
        self.metrics.attempt(handoff.agency, outcome, seconds)
        if outcome == "stale":
            return
        gone = isinstance(error, PermanentDelivery) and error.disable
        tally.failed(
            handoff.agency,
            attempt.finished,
            dead=outcome == "dead",
            gone=error.message if gone else None,
            circuit_opened=attempt.circuit_opened,
        )

    def _acknowledged(self, uow: UnitOfWork, attempt: Attempt, receipt: Receipt) -> None:
        handoff = attempt.handoff
        detail = {
            **sent_detail(attempt),
            "response_digest": receipt.response_digest,
            "status": receipt.status_code,
            "agency_ref": receipt.agency_ref,
            **receipt.details,
        }
        uow.audit.append(delivery_entry(AuditKind.delivered, attempt, detail))
        if handoff.kind != HandoffKind.transfer:
            return
        stored = uow.orders.get(handoff.order_id)
        if stored is None:
            return
        order = _with_partner_id(assignments.with_assignments(stored.order), handoff, receipt)
        answered = _answered_assignment(order, handoff)
        if answered is None:  # answered since (签收, 退回) or replaced (改派, 重办): moves nothing
            if order is not stored.order:
                uow.orders.replace(order)
            return
        detail = {"agency_ref": receipt.agency_ref, "handoff_id": handoff.id}
        # queues the status callback when the order moves (and the hotline sent it)
        self.updates.acknowledge(
            uow, order, answered, detail, tell=True, agency_ref=receipt.agency_ref
        )

    def _failed(self, uow: UnitOfWork, attempt: Attempt, error: DeliveryError) -> str:
        """Reschedule or dead-letter a failed attempt: `retry` or `dead`; `stale` (and
        nothing changed) when the attempt's claim no longer holds the handoff."""
        handoff = attempt.handoff
        profile = self.directory.profile(handoff.agency)
        delay = next_delay(profile.retry, handoff.attempts, error)
        retry_at = None if delay is None else attempt.finished + delay
        if not settle_failure(uow, handoff, error, retry_at):
            record_stale(uow, attempt)
            return "stale"
        detail = {
            **sent_detail(attempt),
            "error": error.message,
            "status": error.status_code,
            "retryable": error.retryable,
        }
        uow.audit.append(delivery_entry(AuditKind.failed, attempt, detail))
        if delay is None:
            uow.audit.append(
                handoff_entry(
                    AuditKind.dead_lettered,
                    handoff,
                    detail={"attempts": handoff.attempts, "last_error": error.message},
                )
            )
            self._never_silently(uow, handoff, error)
        else:
            uow.audit.append(
                handoff_entry(
                    AuditKind.retry_scheduled,
                    handoff,
                    detail={"in_seconds": round(delay, 3), "at": retry_at},
                )
            )
        if isinstance(error, PermanentDelivery) and error.disable:
            uow.agencies.disable(handoff.agency, error.message, attempt.finished)
            uow.audit.append(
                handoff_entry(
                    AuditKind.agency_disabled,
                    handoff,
                    detail={"reason": error.message},
                )
            )
        return "dead" if delay is None else "retry"

    def _never_silently(self, uow: UnitOfWork, handoff: Handoff, error: DeliveryError) -> None:
        """An emergency handoff that could not be delivered is escalated, never just dropped."""
        if handoff.lane != Lane.emergency or handoff.kind == HandoffKind.alert:
            return
        stored = uow.orders.get(handoff.order_id)
        if stored is not None:
            detail = {
                "handoff_id": handoff.id,
                "attempts": handoff.attempts,
                "error": error.message,
            }
            raise_alert(
                uow,
                self.directory,
                stored.order,
                "emergency_undeliverable",
                self.clock(),
                agency=handoff.agency,
                detail=detail,
            )


def _delivery(
    handoff: Handoff, profile: AgencyProfile, connector: Connector, sign: Sign, sent: SentSignature
) -> Delivery:
    """What `connector` is handed: the JSON body signed here, unless the connector signs
    what it really sends; either way signed once, and `sent` keeps the signature."""
    if signs_what_it_sends(connector):
        headers = {}
    else:
        headers = sent.signed_body(sign, handoff.id, handoff.body)
    return Delivery(
        handoff.id,
        handoff.agency,
        profile.endpoint,
        handoff.body,
        headers,
        profile.timeout,
        sign=sent.wire_signer(sign),
    )


def _with_partner_id(order: WorkOrder, handoff: Handoff, receipt: Receipt) -> WorkOrder:
    """The order with the agency's own case number (e.g. 110's JJDBH) kept on it; the
    same object when there is nothing new to keep."""
    if not receipt.agency_ref or handoff.agency == HOTLINE:
        return order
    if order.partner_ids.get(handoff.agency) == receipt.agency_ref:
        return order
    ids = {**order.partner_ids, handoff.agency: receipt.agency_ref}
    return order.model_copy(update={"partner_ids": ids})


def _answered_assignment(order: WorkOrder, handoff: Handoff) -> Assignment | None:
    """The pending assignment this transfer's acknowledgement answers, decided by our own
    records (which transfer carried which assignment), never by the agency's clock."""
    found = assignments.by_transfer(order, handoff.id)
    if found is None:  # an order stored before assignments existed
        found = assignments.current(order, handoff.agency)
        if found is not None and found.transfer_id is not None:
            return None
    return found if found is not None and found.step == Step.pending else None
