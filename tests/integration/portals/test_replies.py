"""Replies: the hotline's feedback goes back to the board; a later one corrects it."""

from __future__ import annotations

from typing import Any

import httpx

from gateway.crypto.signing import generate_ed25519_key
from tests.integration.api.helpers import wait_until
from tests.integration.deliveries import delivered
from tests.integration.portals.conftest import MAYOR, NETIZEN, Boards
from tests.integration.portals.helpers import (
    event,
    letter,
    order_id_for,
    orders_from,
    status,
)


def board_order(boards: Boards, flow_id: str) -> str:
    """The order the hotline got for a board message, once it is dispatched to it."""
    transfers = boards.stack.hotline.transfers
    order_id = wait_until(lambda: order_id_for(transfers, flow_id), what=f"order for {flow_id}")
    with httpx.Client(base_url=boards.stack.url) as client:
        wait_until(lambda: status(client, order_id) == "dispatched", what="dispatched")
    return str(order_id)


def post(client: httpx.Client, order_id: str, body: dict[str, Any]) -> None:
    response = client.post(f"/v1/work-orders/{order_id}/events", json=body)
    assert response.status_code == 200, response.text


def reply_refs(client: httpx.Client, order_id: str, board: str) -> list[str | None]:
    handoffs = client.get(f"/v1/work-orders/{order_id}").json()["handoffs"]
    return [h["agency_ref"] for h in handoffs if h["agency"] == board and h["kind"] == "event"]


def replied_letter(boards: Boards, client: httpx.Client) -> tuple[str, Any]:
    """A new letter to the mayor's mailbox, accepted and answered with feedback: its
    order's id and the reply the board got."""
    message_id = boards.mayor.add(**letter())
    order_id = board_order(boards, message_id)
    post(client, order_id, event("accept", "e-1", flow_id="GZ-1"))
    post(client, order_id, event("feedback", "e-2", note="已责令工地夜间停工。"))
    return order_id, wait_until(lambda: boards.mayor.reply_for(message_id), what="the reply")


def test_feedback_is_the_reply_and_a_later_feedback_corrects_it(boards: Boards) -> None:
    with httpx.Client(base_url=boards.stack.url) as client:
        order_id, reply = replied_letter(boards, client)
        assert reply.versions[0]["hfnr"] == "已责令工地夜间停工。"
        assert reply.versions[0]["hfdw"] == "12345政务服务便民热线"
        wait_until(lambda: reply.id in reply_refs(client, order_id, MAYOR), what="reply id kept")
        post(client, order_id, event("reopen", "e-3", reason="市民反映仍在夜间施工"))
        wait_until(lambda: status(client, order_id) == "dispatched", what="dispatched again")
        post(client, order_id, event("accept", "e-4", flow_id="GZ-1"))
        post(client, order_id, event("feedback", "e-5", note="更正：已停工并立案处罚。"))
        wait_until(lambda: len(reply.versions) == 2, what="the correction")
        both = wait_until(
            lambda: reply_refs(client, order_id, MAYOR).count(reply.id) == 2,
            what="the correction's receipt, with the same reply id",
        )
    assert reply.versions[1]["hfnr"] == "更正：已停工并立案处罚。"
    assert list(boards.mayor.replies) == [reply.id]  # corrected, not replied twice
    assert [r.method for r in boards.mayor.requests() if r.path != "/messages"] == ["POST", "PUT"]
    assert both


def test_each_delivery_entry_names_the_signature_the_board_received(boards: Boards) -> None:
    with httpx.Client(base_url=boards.stack.url) as client:
        order_id, reply = replied_letter(boards, client)
        wait_until(lambda: reply.id in reply_refs(client, order_id, MAYOR), what="its receipt")
    received = boards.mayor.signatures  # webhook-id (our handoff id) → the signature it got
    recorded = delivered(boards.stack.database_url, MAYOR)
    (replied,) = [entry for entry in recorded if entry.detail["board_call"] == "reply"]
    assert replied.handoff_id in received
    # an event that needs no call to the board sent nothing, so names no signature
    assert {e.handoff_id: e.signature for e in recorded} == {
        e.handoff_id: received.get(e.handoff_id) for e in recorded
    }


def test_a_push_board_message_becomes_one_order_and_gets_its_reply(boards: Boards) -> None:
    message_id = boards.netizen.add(title="路灯不亮")
    work_order = {
        "flow_id": message_id,
        "acceptance_no": f"WMLY-{message_id}",
        "category": "help",
        "title": "路灯不亮",
        "content": "某小区门口路灯连续一周不亮。",
        "received_at": "2026-11-24T20:00:00+08:00",
        "channel": "netizen-board",
    }
    url = boards.stack.url
    first = boards.netizen.push(url, NETIZEN, boards.netizen_key, "nb-1", work_order)
    again = boards.netizen.push(url, NETIZEN, boards.netizen_key, "nb-2", work_order)
    assert (first.status_code, first.json()["result"]) == (201, "created"), first.text
    assert again.json()["result"] == "duplicate"
    assert orders_from(boards.stack.settings.database_url, NETIZEN) == [message_id]
    order_id = board_order(boards, message_id)
    with httpx.Client(base_url=url) as client:
        post(client, order_id, event("accept", "e-1", flow_id="GZ-2"))
        post(client, order_id, event("feedback", "e-2", note="已派人维修，路灯已恢复。"))
    reply = wait_until(lambda: boards.netizen.reply_for(message_id), what="the reply")
    assert reply.versions[0]["content"] == "已派人维修，路灯已恢复。"
    assert boards.netizen.requests("GET") == []  # a push board is never polled
    assert orders_from(boards.stack.settings.database_url, MAYOR) == []


def test_a_push_from_someone_without_the_board_key_is_refused(boards: Boards) -> None:
    forged = boards.netizen.push(
        boards.stack.url, NETIZEN, generate_ed25519_key(), "nb-x", {"flow_id": "N-9"}
    )
    assert forged.status_code == 401


def test_a_correct_reply_event_corrects_the_board_reply(boards: Boards) -> None:
    message_id = boards.mayor.add(**letter("路灯不亮"))
    order_id = board_order(boards, message_id)
    with httpx.Client(base_url=boards.stack.url) as client:
        post(client, order_id, event("accept", "c-1", flow_id="GZ-C"))
        post(client, order_id, event("feedback", "c-2", note="已安排维修。"))
        reply = wait_until(lambda: boards.mayor.reply_for(message_id), what="the reply")
        post(client, order_id, event("correct_reply", "c-3", note="更正：已于今日修复。"))
        wait_until(lambda: len(reply.versions) == 2, what="the correction")
        assert status(client, order_id) == "replied", "a correction changes no status"
        missing = client.post(
            f"/v1/work-orders/{order_id}/events", json=event("correct_reply", "c-4")
        )
    assert reply.versions[1]["hfnr"] == "更正：已于今日修复。"
    assert list(boards.mayor.replies) == [reply.id]
    assert missing.status_code == 422, "a correction without its text is refused"
