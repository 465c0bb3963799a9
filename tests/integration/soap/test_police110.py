"""12345 ↔ 110 over real SOAP: zeep against the simulated 110 and against Lianxin's endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import Stack
from tests.integration.api.helpers import order, wait_until
from tests.integration.deliveries import delivered


def police_order(flow_id: str = "GZ-P1", **changes: Any) -> dict[str, Any]:
    fields = {
        "category": "report",
        "matter_code": "GA-0104",
        "title": "小区门口长期有黑车揽客",
        "content": "某小区东门每晚有多辆无牌车辆揽客，疑似非法营运。",
        **changes,
    }
    return order(flow_id, **fields)


def view(client: httpx.Client, order_id: str) -> dict[str, Any]:
    return dict(client.get(f"/v1/work-orders/{order_id}").json())


@pytest.fixture
def stack(make_stack: Callable[..., Stack]) -> Stack:
    return make_stack()


def test_a_police_matter_goes_to_110_and_its_confirm_and_feedback_come_back(stack: Stack) -> None:
    with httpx.Client(base_url=stack.url) as client:
        accepted = client.post("/v1/work-orders", json=police_order())
        assert accepted.status_code == 202, accepted.text
        order_id = accepted.json()["id"]
        assert accepted.json()["lead_agency"] == "police-110"
        wait_until(lambda: view(client, order_id)["status"] == "replied", what="110 feedback")
        body = view(client, order_id)
    assert stack.police is not None
    case = next(iter(stack.police.cases.values()))
    assert case["JQLBDM"] == "0601" and case["JQLBMC"] == "非法营运" and case["FLOWID"] == "GZ-P1"
    assert case["BJNR"].startswith("某小区东门") and case["SFBM"] == "0"
    transfer = next(h for h in body["handoffs"] if h["agency"] == "police-110")
    assert transfer["agency_ref"].startswith("J") and transfer["state"] == "delivered"
    assert stack.hotline.statuses[order_id] == ["dispatched", "signed", "replied"]
    delivered = next(
        e for e in body["timeline"] if e["event"] == "delivered" and e["party"] == "police-110"
    )
    assert delivered["detail"]["operation"] == "TransferCase"
    assert len(delivered["detail"]["wire_digest"]) == 64
    assert delivered["payload_digest"] == transfer["payload_digest"]


def test_each_delivery_entry_names_the_signature_110_received(stack: Stack) -> None:
    with httpx.Client(base_url=stack.url) as client:
        order_id = client.post("/v1/work-orders", json=police_order("GZ-P2")).json()["id"]
        wait_until(lambda: view(client, order_id)["status"] == "replied", what="110 feedback")
    assert stack.police is not None
    received = stack.police.signatures  # webhook-id (our handoff id) → the signature it got
    recorded = delivered(stack.database_url, "police-110")
    assert any(entry.handoff_id in received for entry in recorded), "no call reached 110"
    assert {e.handoff_id: e.signature for e in recorded} == {
        e.handoff_id: received.get(e.handoff_id) for e in recorded
    }


def test_a_matter_110_does_not_take_comes_back_returned_with_its_reason(stack: Stack) -> None:
    with httpx.Client(base_url=stack.url) as client:
        order_id = client.post(
            "/v1/work-orders", json=police_order(content="邻居家庭纠纷争吵，不属于公安紧急警情。")
        ).json()["id"]
        wait_until(lambda: view(client, order_id)["status"] == "returned", what="return")
        timeline = view(client, order_id)["timeline"]
    applied = [
        e for e in timeline if e["event"] == "status_applied" and e["detail"]["to"] == "returned"
    ]
    assert "不属于公安机关管辖" in applied[0]["detail"]["reason"]


def test_a_case_110_pushes_becomes_an_order_for_the_hotline_and_the_loop_closes(
    stack: Stack,
) -> None:
    assert stack.police is not None
    result = asyncio.run(stack.police.push_case("J20261124000901", "工地夜间施工噪声扰民，非警情"))
    assert result.Code == 0, stack.police.answers_failed
    order_id = result.ORDERID
    with httpx.Client(base_url=stack.url) as client:
        wait_until(lambda: view(client, order_id)["status"] == "dispatched", what="to hotline")
        transfer = stack.hotline.transfers[0]
        assert transfer["from_agency"] == "police-110"
        assert transfer["from_unit"] == {"unit": "天河分局", "unit_code": "440106000000"}
        assert transfer["work_order"]["matter_code"] == "CG-0201"
        received = next(e for e in view(client, order_id)["timeline"] if e["event"] == "received")
        assert (received["detail"]["unit"], received["detail"]["unit_code"]) == (
            "天河分局",
            "440106000000",
        )
        assert transfer["work_order"]["partner_ids"]["police-110"] == "J20261124000901"
        url = f"/v1/work-orders/{order_id}/events"

        def event(kind: str, n: int, **more: Any) -> None:
            body = {
                "type": kind,
                "event_id": f"e{n}",
                "occurred_at": "2026-11-24T12:00:00+08:00",
                **more,
            }
            response = client.post(url, json=body)
            assert response.status_code == 200, response.text

        event("accept", 1, flow_id="GZ12345-20261124-009001")
        event("feedback", 2, note="已转住建部门处理，施工单位已停止夜间施工")
        event("resolve", 3)
        event("revisit", 4, satisfaction=5, note="报警人表示满意")
        wait_until(lambda: len(stack.police.callbacks) == 2, what="callbacks to 110")
        order_view = view(client, order_id)
    confirmation = stack.police.confirmations[0]
    assert confirmation == {
        "JJDBH": "J20261124000901",
        "FLOWID": "GZ12345-20261124-009001",
        "SLSJ": confirmation["SLSJ"],
    }
    feedback, revisit = stack.police.callbacks
    assert (feedback["DYYY"], revisit["DYYY"], revisit["PJ"]) == ("1", "3", "5")
    assert order_view["work_order"]["partner_ids"] == {
        "police-110": "J20261124000901",
        "hotline": "GZ12345-20261124-009001",
    }
    assert order_view["status"] == "revisited"


def test_the_same_push_twice_is_one_order(stack: Stack) -> None:
    assert stack.police is not None
    first = asyncio.run(stack.police.push_case("J20261124000902", "占道经营"))
    again = asyncio.run(stack.police.push_case("J20261124000902", "占道经营"))
    assert first.ORDERID == again.ORDERID
    assert again.Code == 1


def test_an_independent_zeep_client_reads_the_wsdl_and_pushes_a_case(stack: Stack) -> None:
    """Plain zeep, WSDL fetched from ?wsdl, signature built by hand from the spec."""
    import zeep
    from zeep.plugins import Plugin

    from connectors.soap import xml as soap_xml
    from gateway.crypto.signing import MessageSigner, parse_signing_key

    signer = MessageSigner([parse_signing_key(stack.agency_keys["police-110"])])

    class Sign(Plugin):  # type: ignore[misc]
        def egress(self, envelope: Any, headers: Any, operation: Any, options: Any) -> Any:
            body = soap_xml.canonical_body(envelope)
            soap_xml.add_signature(envelope, signer.headers("zeep-1", body))
            return envelope, headers

    client = zeep.Client(f"{stack.url}/soap/police-110?wsdl", plugins=[Sign()])
    result = client.service.TransferIn(
        JJDBH="J20261124000777",
        BJDZ="越秀区某街",
        BJNR="商铺占道经营",
        BJSJ="2026-11-24T09:00:00+08:00",
        JQLBDM="9103",
        JQLBMC="占道经营",
        GXDWDM="440104",
        GXDWMC="越秀分局",
        SFBM="0",
        XZQHDM="440104",
    )
    assert result.Code == 0 and result.ORDERID.startswith("wo_")
    with httpx.Client(base_url=stack.url) as http:
        assert view(http, result.ORDERID)["work_order"]["matter_code"] == "CG-0202"


def test_110_returns_the_hotline_reassigns_to_city_management_and_110s_late_feedback_is_superseded(
    stack: Stack,
) -> None:
    police = stack.police
    assert police is not None
    with httpx.Client(base_url=stack.url) as client:
        content = "邻居家庭纠纷争吵，占道堆放杂物。"
        order_id = client.post("/v1/work-orders", json=police_order(content=content)).json()["id"]
        wait_until(lambda: view(client, order_id)["status"] == "returned", what="110's 退回")
        returned = view(client, order_id)
        police_part = returned["assignments"][0]
        assert (police_part["agency"], police_part["step"]) == ("police-110", "returned")
        signed, back = police_part["actions"]
        assert (signed["person"], signed["unit"]) == ("张警官", "市公安局110指挥中心")
        assert (back["person"], back["unit"]) == ("刘警官", "天河分局指挥室")
        reassign = {
            "type": "reassign",
            "event_id": "gz-r-1",
            "occurred_at": "2026-12-07T10:00:00+08:00",
            "agency": "city-management",
            "reason": "110退回：占道堆物属城管职责",
            "note": "请城管核查占道堆放杂物",
        }
        moved = client.post(f"/v1/work-orders/{order_id}/events", json=reassign)
        assert (moved.status_code, moved.json()["status"]) == (200, "reassigned"), moved.text
        wait_until(lambda: police.withdrawals, what="110's WithdrawCase")
        assert police.withdrawals[0]["CHYY"] == "110退回：占道堆物属城管职责"
        city = stack.agencies["city-management"]
        wait_until(lambda: city.payloads, what="the transfer to city management")
        assert city.payloads[0]["instructions"] == "请城管核查占道堆放杂物"
        wait_until(lambda: view(client, order_id)["lead_agency"] == "city-management", what="lead")
        case_no = police.withdrawals[0]["JJDBH"]
        late = {
            "FLOWID": "GZ-P1",
            "JJDBH": case_no,
            "CJCZQK": "已处置",
            "JQCLJGSM": "已处理",
            "FKDW": "天河分局石牌派出所",
            "FKSJ": "2026-12-07T10:05:00+08:00",
        }
        asyncio.run(police.call("Feedback", late))
        timeline = view(client, order_id)["timeline"]
    assert any("assignment_superseded" in failure for failure in police.answers_failed)
    refused = [e for e in timeline if e["event"] == "refused" and e["party"] == "police-110"]
    assert refused and refused[-1]["detail"]["code"] == "assignment_superseded"
