"""Portal connector: government message boards (市长信箱, 网民留言板).

Protocol: HTTP/1.1 JSON. Pull boards are polled with `GET {endpoint}{messages_path}
?after=<cursor>&limit=<page_size>` every `poll_interval` seconds (at once again while
pages come back full); push boards post signed TransferIn messages to
`POST /v1/inbound/{board}`. Replies go out as `POST {reply_path}`, corrections of an
earlier reply as `PUT {correction_path}`. Direction: both (messages in, replies out).
Guarantee: each board message becomes exactly one work order (de-duplicated by the
board's id, in the same transaction as the order); the cursor advances only after the
orders before it are committed, so a crash re-reads a page, never skips one. Replies
are at-least-once; the board de-duplicates on `webhook-id` (the handoff id).
Authentication: every request we make carries Standard Webhooks headers: over the reply
body (signed here with `Delivery.sign`, the one signature of the delivery and the one its
audit entry names), and over `GET <path>?<query>` for polls. The board is trusted by its
endpoint (use https), so pulled messages carry no signature; our client certificate where
the board demands mutual TLS. HTTP goes through the one outbound client
(`connectors.http.client`).
Transient: connection errors, timeouts, oversized answers, 5xx, 408, 409, 425, 429
(`connectors.http.errors`; Retry-After honoured by the poller and the retry policy).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from connectors.http.client import Answer, Exchange, open_client
from connectors.http.errors import checked
from connectors.portal.messages import (
    board_id,
    page_of,
    reply_body,
    reply_id,
    to_transfer,
)
from gateway.domain.errors import (
    ConfigError,
    LianxinError,
    MalformedMessage,
    PermanentDelivery,
    TransientDelivery,
)
from gateway.domain.ids import new_id
from gateway.domain.messages import Delivery, Receipt, Sign
from gateway.mapping.profiles import AgencyProfile, PortalPolicy
from gateway.service.ports.transport import BoardState, PulledHandler
from gateway.settings import Settings

log = logging.getLogger("lianxin.portal")


class PortalConnector:
    """Polls one board for new messages and posts the hotline's replies back to it."""

    signs_what_it_sends = True  # the reply, not the handoff's JSON

    def __init__(self, profile: AgencyProfile, exchange: Exchange | None = None) -> None:
        if profile.portal is None:
            raise ConfigError(f"agency '{profile.id}' uses transport 'portal' without [portal]")
        self.profile = profile
        self.policy: PortalPolicy = profile.portal
        self.board = profile.id
        self.state: BoardState | None = None
        self.client = exchange or open_client(profile.http, profile.concurrency + 1)

    async def poll(self, handler: PulledHandler, state: BoardState, sign: Sign) -> None:
        """Pull new messages until cancelled; a push board only keeps `state` for replies."""
        self.state = state
        if self.policy.mode == "push":
            return
        cursor: str | None = None
        started = False
        while True:
            try:
                if not started:
                    cursor, started = await state.cursor(self.board), True
                cursor, wait = await self.poll_once(handler, state, sign, cursor)
            except Exception:  # a store or handler failure: keep the cursor, try again later
                log.exception("polling board %s failed", self.board)
                wait = self.policy.poll_interval
            await asyncio.sleep(wait)

    async def poll_once(
        self, handler: PulledHandler, state: BoardState, sign: Sign, cursor: str | None
    ) -> tuple[str | None, float]:
        """Fetch and apply one page; the cursor to go on from and how long to wait."""
        try:
            content = (await self._fetch(cursor, sign)).content
            page = page_of(self.policy, content)
        except TransientDelivery as exc:
            log.warning("board %s: %s", self.board, exc.message)
            return cursor, max(self.policy.poll_interval, exc.retry_after or 0.0)
        except MalformedMessage as exc:
            await self._refuse(handler, f"page-{_digest(content)[:32]}", content, exc)
            return cursor, self.policy.poll_interval
        except PermanentDelivery as exc:
            log.error("board %s refuses our polls: %s", self.board, exc.message)
            return cursor, self.policy.poll_interval
        for message in page.messages:
            await self._accept(handler, message)
        moved = page.next_cursor is not None and page.next_cursor != cursor
        if moved and page.next_cursor is not None:
            await state.advance(self.board, page.next_cursor)
            cursor = page.next_cursor
        backlog = moved and len(page.messages) >= self.policy.page_size
        return cursor, 0.0 if backlog else self.policy.poll_interval

    async def deliver(self, delivery: Delivery) -> Receipt:
        """Post feedback as the board's reply, and a later feedback or a `correct_reply` as a
        correction of it; other events need no call to the board."""
        envelope = json.loads(delivery.body)
        replying = envelope.get("event") in ("feedback", "correct_reply")
        if envelope.get("type") != "work_order.event" or not replying:
            what = str(envelope.get("event") or envelope.get("type"))
            return Receipt(200, _digest(delivery.body), details={"board_call": f"none ({what})"})
        message_id = (envelope.get("partner_ids") or {}).get(self.board)
        if not message_id:
            raise PermanentDelivery(f"order {envelope.get('order_id')} has no {self.board} id")
        earlier = await self._state().reply_ref(self.board, str(envelope["order_id"]))
        body = json.dumps(reply_body(self.profile, envelope), ensure_ascii=False).encode()
        if earlier is None:
            method, path = "POST", self.policy.reply_path.format(message_id=quote(message_id))
        else:
            path = self.policy.correction_path.format(
                reply_id=quote(earlier), message_id=quote(message_id)
            )
            method = "PUT"
        if delivery.sign is None:
            raise PermanentDelivery(f"board {self.board}: a reply must be signed; no signer given")
        signed = delivery.sign(delivery.handoff_id, body)
        headers = {**delivery.trace_headers(), **signed}
        answer = await self._send(method, delivery.endpoint + path, body, headers, delivery)
        ref = reply_id(answer.content) or earlier
        kind = "reply" if earlier is None else "correction"
        details = {"board_call": kind}
        return Receipt(answer.status, _digest(answer.content), agency_ref=ref, details=details)

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self.client.aclose()

    def _state(self) -> BoardState:
        if self.state is None:
            raise TransientDelivery(f"board {self.board}: not started yet")
        return self.state

    async def _fetch(self, cursor: str | None, sign: Sign) -> Answer:
        params = {"limit": str(self.policy.page_size)}
        if cursor is not None:
            params["after"] = cursor
        target = f"{self.policy.messages_path}?{urlencode(params)}"
        base = self.profile.endpoint.rstrip("/")
        path = _path_of(base) + target
        headers = sign(new_id("poll"), b"GET " + path.encode())
        answer = await self.client.send("GET", base + target, b"", headers, self.profile.timeout)
        return checked(answer)

    async def _send(
        self, method: str, url: str, body: bytes, headers: dict[str, str], delivery: Delivery
    ) -> Answer:
        headers = {"content-type": "application/json", **headers}
        return checked(await self.client.send(method, url, body, headers, delivery.timeout))

    async def _accept(self, handler: PulledHandler, message: Any) -> None:
        body = json.dumps(message, ensure_ascii=False, sort_keys=True).encode()
        ident = board_id(self.policy, message) or f"no-id-{_digest(body)[:32]}"
        try:
            await handler(
                self.board, f"pull-{ident}", body, lambda _: to_transfer(self.profile, message)
            )
        except LianxinError as exc:  # already on record as refused; the next message goes on
            log.warning("board %s: message %s refused: %s", self.board, ident, exc.message)

    async def _refuse(
        self, handler: PulledHandler, msg_id: str, body: bytes, error: LianxinError
    ) -> None:
        def fail(_: bytes) -> Any:
            raise error

        try:
            await handler(self.board, msg_id, body, fail)
        except LianxinError:
            log.warning("board %s: %s", self.board, error.message)


def _path_of(url: str) -> str:
    """The path part of an endpoint URL ('' for a bare origin)."""
    return urlsplit(url).path


def _digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def build(profile: AgencyProfile, settings: Settings | None = None) -> PortalConnector:
    """A portal connector for `profile`."""
    return PortalConnector(profile)
