"""Status sync: agency messages, and the entry for hotline events, through one state machine.

Agency messages are verified (signature, tolerance), de-duplicated by message id,
judged against the assignment they answer (`agency_updates`), applied, and reported to the
hotline platform as signed handoffs through the outbox. Whatever is refused is put on
record in a transaction of its own and never applied.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from gateway.crypto.signing import MessageVerifier, VerifiedMessage
from gateway.domain.audit import AuditEvent, AuditKind
from gateway.domain.errors import (
    CertificateMismatch,
    CertificateRequired,
    InputError,
    LianxinError,
    UnknownAgency,
)
from gateway.domain.evidence import SIGNED, signed_block, unsigned_block
from gateway.domain.ids import new_id
from gateway.domain.messages import (
    HOTLINE,
    DeliveryReceipt,
    HandoffKind,
    HotlineEvent,
    Lane,
    StatusUpdate,
    TransferIn,
)
from gateway.domain.workorder import WorkOrder
from gateway.service.audit import canonical_json, digest
from gateway.service.deadlines.setting import DeadlineSetter
from gateway.service.delivery import envelopes
from gateway.service.delivery.outbox import enqueue, noting_lanes
from gateway.service.directory import Directory
from gateway.service.log_context import bind, log_context
from gateway.service.operations.refusal_summary import UNKNOWN_PARTY, RefusalSummary
from gateway.service.orders.agency_updates import AgencyUpdates
from gateway.service.orders.hotline_events import HotlineEvents
from gateway.service.ports.store import Store, UnitOfWork
from gateway.service.ports.transport import Caller, Outcome, WakeUp

AgencyMessageType = StatusUpdate | TransferIn | DeliveryReceipt
AgencyMessage: TypeAdapter[AgencyMessageType] = TypeAdapter(AgencyMessageType)


@dataclass(frozen=True)
class Received:
    """One message as it arrived: its id, the exact bytes its sender signed (or sent), and
    the `signed` block its audit entries keep (docs/evidence.md#agencies-signatures)."""

    msg_id: str
    body: bytes
    signed: dict[str, Any]


PULLED = "pulled by Lianxin from the agency's own API; the transport carries no message signature"


class StatusSync:
    """Applies inbound agency messages and hotline events."""

    def __init__(
        self,
        store: Store,
        directory: Directory,
        verifiers: Mapping[str, MessageVerifier],
        wake: WakeUp,
        clock: Callable[[], float],
        updates: AgencyUpdates,
        events: HotlineEvents,
        deadlines: DeadlineSetter,
        refusals: RefusalSummary | None = None,
    ) -> None:
        self.store = store
        self.refusals = refusals or RefusalSummary(store, clock, interval=60.0)
        self.directory = directory
        self.verifiers = verifiers
        self.wake = wake
        self.clock = clock
        self.updates = updates
        self.events = events
        self.deadlines = deadlines

    async def receive(
        self,
        agency: str,
        headers: Mapping[str, str],
        body: bytes,
        parse: Callable[[bytes], AgencyMessageType] | None = None,
        caller: Caller | None = None,
    ) -> Outcome:
        """Verify, parse and apply one signed message from `agency`; audit any refusal.

        `body` is what the signature covers; `parse` turns it into a message (JSON by
        default; the SOAP endpoint passes its own). `caller` is given when mutual TLS is
        in force: its certificate must be bound to `agency`, whatever key signed.
        """
        with log_context(agency=agency):
            return await self._receive(agency, headers, body, parse, caller)

    async def _receive(
        self,
        agency: str,
        headers: Mapping[str, str],
        body: bytes,
        parse: Callable[[bytes], AgencyMessageType] | None,
        caller: Caller | None,
    ) -> Outcome:
        await self.admit(agency, caller, body)
        message: AgencyMessageType | None = None
        verified = None
        try:
            urgent = self.directory.profile(agency).lane == Lane.emergency
            verified = self.verifiers[agency].verify(headers, body)
            message = (parse or parse_json)(body)
            if isinstance(message, StatusUpdate):
                bind(order_id=message.order_id)
            parsed = message
            received = Received(
                verified.msg_id,
                body,
                kept_signature(verified, body),
            )
            outcome, lanes = await self.store.write(
                noting_lanes(lambda uow: self._apply_message(uow, agency, received, parsed)),
                urgent,
            )
        except LianxinError as exc:
            if verified is None:  # not signed by the agency: nothing permanent
                self.refuse_unauthenticated(agency, exc, body)
                raise
            order_id = message.order_id if isinstance(message, StatusUpdate) else None
            order_id = order_id or exc.details.get("order_id")  # found by flow id, then refused
            signed = kept_signature(verified, body)
            await self.record_refusal(agency, order_id, exc, digest(body), signed)
            raise
        self.wake(*lanes)
        return outcome

    async def admit(self, agency: str, caller: Caller | None, body: bytes) -> None:
        """Refuse a message for an unknown agency, or from a caller whose client certificate
        is not bound to `agency`: counted and summarised, never audited one by one."""
        try:
            if agency not in self.directory.profiles:  # the answer names no other agency
                raise UnknownAgency("no agency profile has that name")
            if caller is None:  # mutual TLS is not configured: signatures alone authenticate
                return
            if caller.certificate is None:
                raise CertificateRequired("this endpoint requires an agency client certificate")
            if caller.agency != agency:
                bound = f"'{caller.agency}'" if caller.agency else "no agency"
                raise CertificateMismatch(
                    f"the client certificate is bound to {bound}, not to '{agency}'",
                    certificate=caller.certificate,
                )
        except LianxinError as exc:
            self.refuse_unauthenticated(agency, exc, body)
            raise

    def refuse_unauthenticated(self, agency: str, exc: LianxinError, body: bytes) -> None:
        """Count a refusal of a message nobody authenticated (see refusal_summary)."""
        party = agency if agency in self.directory.profiles else UNKNOWN_PARTY
        self.refusals.note(party, exc.code, digest(body))

    async def accept_pulled(
        self,
        agency: str,
        msg_id: str,
        body: bytes,
        parse: Callable[[bytes], AgencyMessageType],
    ) -> Outcome:
        """Apply one message a polling transport pulled from `agency`; audit any refusal.

        No signature is checked: the transport authenticated its own request to the
        agency. De-duplication (by `msg_id`, and by the agency's flow id for transfers)
        is the same as for pushed messages, so a message pulled twice is applied once.
        """
        with log_context(agency=agency):
            return await self._accept_pulled(agency, msg_id, body, parse)

    async def _accept_pulled(
        self, agency: str, msg_id: str, body: bytes, parse: Callable[[bytes], AgencyMessageType]
    ) -> Outcome:
        try:
            self.directory.profile(agency)
            message = parse(body)
            received = Received(msg_id, body, unsigned_block(PULLED, digest(body)))
            outcome, lanes = await self.store.write(
                noting_lanes(lambda uow: self._apply_message(uow, agency, received, message))
            )
        except LianxinError as exc:
            await self.record_refusal(agency, None, exc, digest(body))
            raise
        self.wake(*lanes)
        return outcome

    async def hotline_event(self, order_id: str, event: HotlineEvent) -> Outcome:
        """Apply one hotline event to an order and tell the agencies working on it."""
        with log_context(order_id=order_id, agency=HOTLINE):
            return await self._hotline_event(order_id, event)

    async def _hotline_event(self, order_id: str, event: HotlineEvent) -> Outcome:
        try:
            outcome, lanes = await self.store.write(
                noting_lanes(lambda uow: self.events.apply(uow, order_id, event))
            )
        except LianxinError as exc:
            await self.record_refusal(HOTLINE, order_id, exc, digest(event.model_dump_json()))
            raise
        self.wake(*lanes)
        return outcome

    async def record_refusal(
        self,
        party: str,
        order_id: str | None,
        exc: LianxinError,
        body_digest: str,
        signed: dict[str, Any] | None = None,
    ) -> None:
        """Put a refused message on record (its digest, never its content; its sender's
        signature material when the signature was checked)."""
        detail: dict[str, Any] = {"code": exc.code, "message": exc.message}
        if signed is not None:
            detail[SIGNED] = signed
        entry = AuditEvent(
            AuditKind.refused,
            order_id=order_id,
            party=party,
            payload_digest=body_digest,
            detail=detail,
        )
        await self.store.write(lambda uow: uow.audit.append(entry))

    def _apply_message(
        self, uow: UnitOfWork, agency: str, received: Received, message: AgencyMessageType
    ) -> Outcome:
        msg_id = received.msg_id
        if not uow.inbound.remember(agency, msg_id, self.clock(), received.body):
            return Outcome("duplicate")
        if isinstance(message, DeliveryReceipt):
            uow.audit.append(
                AuditEvent(
                    AuditKind.agency_receipt,
                    handoff_id=message.handoff_id,
                    party=agency,
                    detail={
                        "msg_id": msg_id,
                        "agency_ref": message.agency_ref,
                        SIGNED: received.signed,
                    },
                )
            )
            return Outcome("receipt", reference=message.handoff_id)
        if isinstance(message, TransferIn):
            return self._accept_transfer(uow, agency, received, message)
        return self.updates.apply(uow, agency, msg_id, message, received.signed)

    def _accept_transfer(
        self, uow: UnitOfWork, agency: str, received: Received, transfer: TransferIn
    ) -> Outcome:
        msg_id = received.msg_id
        submitted = transfer.work_order
        existing = uow.orders.find(agency, submitted.flow_id)
        if existing is not None:
            return Outcome("duplicate", existing.order.id, existing.order.status.value)
        now = self.clock()
        order = WorkOrder(
            **submitted.model_dump(exclude={"route_to", "partner_ids"}),
            id=new_id("wo"),
            origin=agency,
            lead_agency=HOTLINE,
            partner_ids={**submitted.partner_ids, agency: submitted.flow_id},
        )
        policy = self.deadlines.policy_for(order)
        order, deadlines_entry = self.deadlines.fill(order, policy)
        uow.orders.add(order, now)
        uow.audit.append(
            AuditEvent(
                AuditKind.received,
                order_id=order.id,
                party=agency,
                payload_digest=digest(canonical_json(order.model_dump(mode="json"))),
                detail={
                    "msg_id": msg_id,
                    "partner_id": submitted.flow_id,
                    **transfer.sender(),
                    SIGNED: received.signed,
                },
            )
        )
        if deadlines_entry is not None:
            uow.audit.append(deadlines_entry)
        self.deadlines.watch(uow, order, policy, deadlines_entry, now)
        hotline = self.directory.profile(HOTLINE)
        enqueue(
            uow,
            order,
            hotline,
            HandoffKind.transfer,
            envelopes.transfer_in(order, agency, transfer.sender()),
            now,
        )
        return Outcome("created", order.id, order.status.value)


def kept_signature(verified: VerifiedMessage, body: bytes) -> dict[str, Any]:
    """The `signed` block an entry keeps of a message whose signature was verified."""
    return signed_block(
        verified.msg_id, verified.timestamp, verified.signature, verified.key_id, digest(body)
    )


def parse_json(body: bytes) -> AgencyMessageType:
    """A JSON agency message, or InputError listing what does not fit."""
    try:
        return AgencyMessage.validate_json(body)
    except ValidationError as exc:
        raise InputError("message does not match the schema", errors=_errors(exc)) from exc


def parse_data(data: dict[str, Any]) -> AgencyMessageType:
    """An agency message from already-decoded data, or InputError."""
    try:
        return AgencyMessage.validate_python(data)
    except ValidationError as exc:
        raise InputError("message does not match the schema", errors=_errors(exc)) from exc


def _errors(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"loc": ".".join(str(p) for p in e["loc"]), "msg": e["msg"]}
        for e in exc.errors(include_url=False, include_input=False)
    ][:20]
