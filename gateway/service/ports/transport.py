"""Transport ports: what a connector does for the service layer, and what it is handed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from gateway.domain.errors import LianxinError
from gateway.domain.messages import Delivery, Lane, Receipt, Sign


@dataclass(frozen=True)
class Outcome:
    """What became of one inbound message."""

    result: str  # applied | duplicate | recorded | outdated | created | receipt
    order_id: str | None = None
    status: str | None = None
    reference: str | None = None  # for a receipt: the handoff it acknowledges


@dataclass(frozen=True)
class Caller:
    """What mutual TLS proved about a caller (the API layer reads the certificate)."""

    certificate: str | None  # subject DN; None when no client certificate came
    agency: str | None  # the agency the certificate is bound to, if any


class AgencyInbox(Protocol):
    """Where a transport that serves agencies (the SOAP endpoint) hands what they send:
    `admit` checks the caller before parsing, `refuse_unauthenticated` counts what could
    not be checked, `receive` verifies, de-duplicates and applies (StatusSync fills it)."""

    async def admit(self, agency: str, caller: Caller | None, body: bytes) -> None: ...
    def refuse_unauthenticated(self, agency: str, exc: LianxinError, body: bytes) -> None: ...
    async def receive(
        self,
        agency: str,
        headers: Mapping[str, str],
        body: bytes,
        parse: Callable[[bytes], Any] | None = None,
        caller: Caller | None = None,
    ) -> Outcome: ...


class Connector(Protocol):
    """One transport to one agency: deliver a signed message, get a receipt or an error.

    Most connectors send the handoff's JSON body as it is, with the dispatcher's signature
    of it in `Delivery.headers`. One that sends another wire form of the message (a SOAP
    call, a board reply) says so with a class attribute `signs_what_it_sends = True`: it
    gets no signature up front and signs what it sends with `Delivery.sign`; the signature
    that call makes is the one the dispatcher records.
    """

    async def deliver(self, delivery: Delivery) -> Receipt: ...
    async def aclose(self) -> None: ...


def signs_what_it_sends(connector: Connector) -> bool:
    """Whether `connector` signs its own wire form of each message (see `Connector`)."""
    # an attribute, not a runtime-checkable Protocol: isinstance against one costs about
    # 10 µs, paid on every delivery
    return getattr(connector, "signs_what_it_sends", False) is True


class InboundHandler(Protocol):
    """Where a transport hands a received message: verified, de-duplicated, applied.

    Raises a LianxinError subclass when the message is refused (already audited);
    the transport answers or counts it and keeps running.
    """

    async def __call__(self, agency: str, headers: Mapping[str, str], body: bytes) -> Any: ...


@runtime_checkable
class Listener(Protocol):
    """A connector that also receives: `listen` runs until cancelled.

    `sign(message_id, content)` signs what the transport sends back on its own (e.g. the
    receipts an MQTT sender waits for).
    """

    async def listen(self, handler: InboundHandler, sign: Sign) -> None: ...


class PulledHandler(Protocol):
    """Where a polling transport hands one message it pulled: parsed, de-duplicated, applied.

    No signature is checked (the transport authenticated its own request to the peer).
    Raises a LianxinError subclass when the message is refused (already audited).
    """

    async def __call__(
        self, agency: str, msg_id: str, body: bytes, parse: Callable[[bytes], Any]
    ) -> Any: ...


class BoardState(Protocol):
    """What a message-board transport keeps in the database between runs."""

    async def cursor(self, board: str) -> str | None:
        """Where polling resumes; None from the board's beginning."""
        ...

    async def advance(self, board: str, cursor: str) -> None:
        """Move the cursor; call only once the messages before it are committed."""
        ...

    async def reply_ref(self, board: str, order_id: str) -> str | None:
        """The board's id of the reply already posted for an order (for a correction)."""
        ...


@runtime_checkable
class Poller(Protocol):
    """A connector that pulls from its peer: `poll` runs until cancelled (or returns at once
    when the peer pushes instead); `state` also answers what was sent to the peer before."""

    async def poll(self, handler: PulledHandler, state: BoardState, sign: Sign) -> None: ...


class WakeUp(Protocol):
    """Tells the dispatcher's `lanes`, and no other, that new handoffs are waiting, after a
    commit (none named wakes none: a lane woken for nothing runs a claim that finds
    nothing)."""

    def __call__(self, *lanes: Lane) -> None: ...


AsyncWork = Callable[[], Awaitable[None]]
