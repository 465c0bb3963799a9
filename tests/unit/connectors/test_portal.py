from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

import connectors
from connectors.portal.connector import PortalConnector
from connectors.portal.messages import page_of, to_transfer
from gateway.domain.errors import (
    InputError,
    MalformedMessage,
    MappingError,
    PermanentDelivery,
    TransientDelivery,
    Unmappable,
)
from gateway.domain.messages import Delivery
from gateway.mapping.loader import load_mappings
from gateway.mapping.profiles import AgencyProfile
from tests.fakes.http import TransportExchange

MAPPINGS = Path(__file__).resolve().parents[3] / "mappings"
BOARD = "portal-mayor-mailbox"
URL = "http://board.test"


def profile() -> AgencyProfile:
    loaded = load_mappings(MAPPINGS, "routing/catalogue.toml", connectors.TRANSPORTS)
    return loaded.agencies[BOARD].model_copy(update={"endpoint": URL})


def letter(**changes: Any) -> dict[str, Any]:
    base = {
        "xh": "M-000001",
        "lx": "投诉",
        "bt": "小区夜间施工噪音扰民",
        "nr": "某工地每晚十一点后仍在施工，影响休息。",
        "xm": "王女士",
        "dh": "13800001111",
        "dz": "天河区某路1号",
        "sj": "2026-11-24 21:30:00",
    }
    return {**base, **changes}


class FakeState:
    def __init__(self, earlier: str | None = None) -> None:
        self.saved: list[str] = []
        self.earlier = earlier

    async def cursor(self, board: str) -> str | None:
        return self.saved[-1] if self.saved else None

    async def advance(self, board: str, cursor: str) -> None:
        self.saved.append(cursor)

    async def reply_ref(self, board: str, order_id: str) -> str | None:
        return self.earlier


class FakeHandler:
    def __init__(self, refuse: set[str] | None = None) -> None:
        self.accepted: list[str] = []
        self.refused: list[str] = []
        self.refuse = refuse or set()

    async def __call__(
        self, agency: str, msg_id: str, body: bytes, parse: Callable[[bytes], Any]
    ) -> Any:
        try:
            parse(body)
        except InputError:
            self.refused.append(msg_id)
            raise
        self.accepted.append(msg_id)
        return None


def sign(msg_id: str, content: bytes) -> dict[str, str]:
    return {"webhook-id": msg_id, "x-signed": hashlib.sha256(content).hexdigest()}


def connector_answering(answer: Callable[[httpx.Request], httpx.Response]) -> PortalConnector:
    return PortalConnector(profile(), TransportExchange(httpx.MockTransport(answer)))


def page(*messages: Any, cursor: str | None = "2") -> httpx.Response:
    return httpx.Response(200, json={"messages": list(messages), "next_cursor": cursor})


def feedback(note: str = "已责令工地夜间停工。") -> Delivery:
    body = {
        "id": "msg_1",
        "type": "work_order.event",
        "order_id": "wo_1",
        "partner_ids": {BOARD: "M-000001"},
        "event": "feedback",
        "note": note,
        "occurred_at": "2026-11-25T10:00:00+08:00",
    }
    content = json.dumps(body).encode()
    return Delivery("msg_1", BOARD, URL, content, {}, 5.0, sign=sign)


def test_a_letter_becomes_a_transfer_with_the_board_id_as_flow_id() -> None:
    order = to_transfer(profile(), letter()).work_order
    assert (order.flow_id, order.acceptance_no, order.category) == (
        "M-000001",
        "SZXX-M-000001",
        "complaint",
    )
    assert order.location is not None and order.location.division_code == "440100"
    assert order.received_at.isoformat() == "2026-11-24T21:30:00+08:00"
    assert order.channel == "mayor-mailbox"


def test_a_letter_without_a_type_takes_the_default_category() -> None:
    message = letter()
    del message["lx"]
    assert to_transfer(profile(), message).work_order.category == "help"


def test_a_letter_without_a_title_is_refused_naming_the_letter() -> None:
    message = letter()
    del message["bt"]
    with pytest.raises(InputError, match=r"board message M-000001: title: Field required"):
        to_transfer(profile(), message)


def test_a_letter_of_an_unknown_type_is_unmappable() -> None:
    with pytest.raises(Unmappable, match="no entry for '表扬'"):
        to_transfer(profile(), letter(lx="表扬"))


def test_a_letter_without_an_id_is_refused() -> None:
    with pytest.raises(InputError, match="without a usable 'xh'"):
        to_transfer(profile(), {"bt": "无编号"})


def test_a_page_that_is_not_json_is_malformed() -> None:
    with pytest.raises(MalformedMessage, match="not JSON"):
        page_of(profile().portal, b"<html>502</html>")  # type: ignore[arg-type]


async def test_a_poll_hands_over_each_message_then_advances_the_cursor() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return page(letter(), letter(xh="M-000002"))

    handler, state = FakeHandler(), FakeState()
    cursor, wait = await connector_answering(answer).poll_once(handler, state, sign, "0")
    assert handler.accepted == ["pull-M-000001", "pull-M-000002"]
    assert (cursor, state.saved, wait) == ("2", ["2"], 60.0)
    assert seen[0].url.params["after"] == "0" and seen[0].url.params["limit"] == "50"
    signed = hashlib.sha256(b"GET /messages?limit=50&after=0").hexdigest()
    assert seen[0].headers["x-signed"] == signed


async def test_a_refused_message_does_not_stop_the_others_or_the_cursor() -> None:
    handler, state = FakeHandler(), FakeState()
    poller = connector_answering(lambda _: page({"xh": "M-000001"}, letter(xh="M-000002")))
    cursor, _ = await poller.poll_once(handler, state, sign, None)
    assert handler.refused == ["pull-M-000001"] and handler.accepted == ["pull-M-000002"]
    assert cursor == "2"


async def test_a_429_waits_for_retry_after_and_keeps_the_cursor() -> None:
    poller = connector_answering(lambda _: httpx.Response(429, headers={"Retry-After": "90"}))
    state = FakeState()
    cursor, wait = await poller.poll_once(FakeHandler(), state, sign, "7")
    assert (cursor, wait, state.saved) == ("7", 90.0, [])


async def test_a_full_page_is_followed_by_another_poll_at_once() -> None:
    letters = [letter(xh=f"M-{n:06d}") for n in range(50)]
    poller = connector_answering(lambda _: page(*letters, cursor="50"))
    _, wait = await poller.poll_once(FakeHandler(), FakeState(), sign, None)
    assert wait == 0.0


async def test_the_first_feedback_is_posted_as_the_reply() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"id": "R-000001"})

    poller = connector_answering(answer)
    poller.state = FakeState()
    receipt = await poller.deliver(feedback())
    assert (seen[0].method, seen[0].url.path) == ("POST", "/messages/M-000001/replies")
    assert json.loads(seen[0].content)["hfnr"] == "已责令工地夜间停工。"
    assert seen[0].headers["webhook-id"] == "msg_1"
    assert (receipt.agency_ref, receipt.details) == ("R-000001", {"board_call": "reply"})


async def test_a_reply_goes_out_with_the_signature_of_its_own_body() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"id": "R-000001", "version": 1})

    poller = connector_answering(answer)
    poller.state = FakeState()
    await poller.deliver(feedback())
    assert seen[0].headers["x-signed"] == hashlib.sha256(seen[0].content).hexdigest()


async def test_a_reply_without_a_signer_is_refused_not_sent_unsigned() -> None:
    poller = connector_answering(lambda _: pytest.fail("the board must not be called"))
    poller.state = FakeState()
    with pytest.raises(PermanentDelivery, match="must be signed"):
        await poller.deliver(replace(feedback(), sign=None))


async def test_a_later_feedback_corrects_the_earlier_reply() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "R-000001", "version": 2})

    poller = connector_answering(answer)
    poller.state = FakeState(earlier="R-000001")
    receipt = await poller.deliver(feedback("更正：已停工并罚款。"))
    assert (seen[0].method, seen[0].url.path) == ("PUT", "/replies/R-000001")
    assert receipt.details == {"board_call": "correction"}


async def test_other_events_are_acknowledged_without_calling_the_board() -> None:
    poller = connector_answering(lambda _: pytest.fail("the board must not be called"))
    body = json.dumps({"type": "work_order.event", "event": "reopen", "order_id": "wo_1"})
    delivery = Delivery("msg_2", BOARD, URL, body.encode(), {}, 5.0, sign=sign)
    receipt = await poller.deliver(delivery)
    assert receipt.agency_ref is None and receipt.details == {"board_call": "none (reopen)"}


async def test_a_throttled_reply_is_transient_with_retry_after() -> None:
    poller = connector_answering(lambda _: httpx.Response(429, headers={"Retry-After": "30"}))
    poller.state = FakeState()
    with pytest.raises(TransientDelivery) as caught:
        await poller.deliver(feedback())
    assert caught.value.throttled and caught.value.retry_after == 30


def test_a_portal_table_needs_the_portal_transport(tmp_path: Path) -> None:
    root = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, root)
    path = root / "agencies" / f"{BOARD}.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('transport = "portal"', 'transport = "rest"'), encoding="utf-8")
    with pytest.raises(MappingError, match=r"transport 'portal' and a \[portal\] table go"):
        load_mappings(root, "routing/catalogue.toml", connectors.TRANSPORTS)
