"""`lianxin demo`: the whole loop on loopback, with simulated agencies and hotline.

Starts a simulated hotline platform, the 12366 tax sub-centre and city management (REST;
city management refuses its first delivery), 110 and 12360 customs (SOAP), 119 and 120
(REST, emergency lane; 120 is slow to acknowledge), the mayor's mailbox (a message board
the gateway polls), the utilities (MQTT, when a broker can be had) and the gateway on
SQLite. Submits realistic orders, has 110 push one of its own 双非 cases and a citizen
write to the mayor's mailbox, and follows each through routing, delivery, retries, the
agencies' answers, escalation, the callbacks and the hotline's closing steps (a board
reply and its correction included). Exits 0 only when every order ended as expected, the
expected alerts were raised and the audit chain verifies.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from gateway.bootstrap import open_sql_store
from gateway.demo.evidence import show_evidence
from gateway.demo.report import AGENCY_FINAL, summarise
from gateway.demo.stage import DEMO_MAPPINGS, MAYOR, OUTAGE_REFUSALS, Stage, stage
from gateway.observability.log_masking import install_log_masking
from gateway.service.audit import ChainReport, verify_chain
from gateway.world.orders import (
    DEMO_ORDERS,
    EMERGENCY_ORDERS,
    MAYOR_LETTER,
    POLICE_PUSH,
    UTILITY_ORDERS,
)

Say = Callable[[str], None]


def run_demo(keep: Path | None = None, timeout: float = 90.0) -> int:
    """Run the demo; 0 when everything went as expected."""
    workdir = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="lianxin-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    _log_to(workdir / "lianxin.log")
    try:
        with stage(workdir) as cast:
            return _play(cast, timeout, workdir)
    finally:
        logging.getLogger().handlers.clear()
        if keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"kept database and log in {workdir}")


def _play(cast: Stage, timeout: float, workdir: Path) -> int:
    started = time.monotonic()

    def say(text: str) -> None:
        print(f"[{time.monotonic() - started:5.1f}s] {text}", flush=True)

    down = f"DOWN until it has refused {OUTAGE_REFUSALS} delivery attempt(s)"
    say(f"gateway up at {cast.gateway_url}; city-management is {down}")
    for relative, (_, change) in DEMO_MAPPINGS.items():
        say(f"demo setting in {relative}: {change}")
    letter = cast.mayor.add(**MAYOR_LETTER)
    say(f"a citizen wrote letter {letter} to the mayor's mailbox (a pull board)")
    auth = {"Authorization": f"Bearer {cast.hotline_token}"}
    with httpx.Client(base_url=cast.gateway_url, timeout=10, headers=auth) as client:
        say(cast.broker_note)
        scripted = DEMO_ORDERS + EMERGENCY_ORDERS + (UTILITY_ORDERS if cast.utilities else [])
        orders = _submit(client, say, _fresh(scripted))
        pushed = {_police_push(cast, say): "110转办：施工噪声"}
        pushed[_board_letter(cast, letter, timeout, say)] = "市长信箱：加装电梯"
        _follow(client, {**orders, **pushed}, say, timeout, set(pushed))
        _close_transferred(client, list(pushed), say)
        _close(client, orders, say)
        finals = {oid: client.get(f"/v1/work-orders/{oid}").json() for oid in (*orders, *pushed)}
        evidence = show_evidence(client, next(iter(orders)), workdir, cast.database_url, say)
    status = summarise(cast, finals, _verify(cast.database_url), time.monotonic() - started)
    return status or (0 if evidence else 1)


def _submit(client: httpx.Client, say: Say, scripted: list[dict[str, Any]]) -> dict[str, str]:
    orders: dict[str, str] = {}
    for order in scripted:
        response = client.post("/v1/work-orders", json=order)
        body = response.json()
        if response.status_code >= 400:
            raise SystemExit(f"intake refused {order['flow_id']}: {body}")
        agencies = " + ".join([body["lead_agency"], *body["assisting_agencies"]])
        say(f"submitted {order['flow_id']} 「{order['title']}」 → {agencies}")
        orders[body["id"]] = order["title"]
    first = DEMO_ORDERS[0]
    supplement = {
        **first,
        "revision": 2,
        "content": first["content"] + " 补充：今晚22点后仍在施工。",
    }
    client.post("/v1/work-orders", json=supplement).raise_for_status()
    say(f"supplemented {first['flow_id']} with revision 2")
    return orders


def _fresh(orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The scripted orders as if taken in the last minutes (so their deadlines lie ahead)."""
    now = datetime.now(UTC)
    return [
        {**order, "received_at": (now - timedelta(minutes=len(orders) - n)).isoformat()}
        for n, order in enumerate(orders)
    ]


def _board_letter(cast: Stage, letter: str, timeout: float, say: Say) -> str:
    """Wait until the gateway has polled the letter and handed its order to the hotline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for transfer in list(cast.hotline.transfers):
            if transfer.get("from_agency") == MAYOR and transfer["flow_id"] == letter:
                order_id = str(transfer["order_id"])
                say(f"polled letter {letter} from the mayor's mailbox → order {order_id}")
                return order_id
        time.sleep(0.2)
    raise SystemExit(f"the mayor's mailbox letter {letter} never became an order")


def _police_push(cast: Stage, say: Say) -> str:
    push = POLICE_PUSH
    result = asyncio.run(
        cast.police.push_case(push["jjdbh"], push["content"], push["code"], push["name"])
    )
    if result is None or result.Code != 0:
        raise SystemExit(f"110's push was refused: {cast.police.answers_failed}")
    say(f"110 pushed 双非 case {push['jjdbh']} over SOAP → order {result.ORDERID}")
    return str(result.ORDERID)


def _follow(
    client: httpx.Client, orders: dict[str, str], say: Say, timeout: float, pushed: set[str]
) -> None:
    seen: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for order_id, title in orders.items():
            status = client.get(f"/v1/work-orders/{order_id}").json()["status"]
            if seen.get(order_id) != status:
                seen[order_id] = status
                say(f"{title[:16]:<16} {status}")
        done = [s in AGENCY_FINAL for oid, s in seen.items() if oid not in pushed]
        if all(done) and all(seen.get(oid) == "dispatched" for oid in pushed):
            return
        time.sleep(0.2)


def _event(client: httpx.Client, order_id: str, kind: str, **fields: Any) -> None:
    body = {"type": kind, "event_id": f"demo-{kind}", "occurred_at": _now(), **fields}
    response = client.post(f"/v1/work-orders/{order_id}/events", json=body)
    if response.status_code >= 400:
        print(f"PROBLEM: {kind} refused for {order_id}: {response.json()}")


def _close_transferred(client: httpx.Client, order_ids: list[str], say: Say) -> None:
    police, letter = order_ids
    _event(client, police, "accept", flow_id="GZ12345-20261124-000900")
    _event(client, police, "feedback", note="已转住建部门，施工单位已停止夜间施工。")
    _event(client, police, "resolve")
    _event(client, police, "revisit", satisfaction=5, note="报警人表示满意")
    say("hotline accepted 110's case and fed back; 110 hears it over SOAP")
    _event(client, letter, "accept", flow_id="GZ12345-20261124-000901")
    _event(client, letter, "feedback", note="已督促街道办，施工单位本月进场。")
    _event(client, letter, "correct_reply", note="更正：施工单位已于本周进场施工。")
    _event(client, letter, "resolve")
    _event(client, letter, "revisit", satisfaction=4, note="来信人基本满意")
    say("hotline replied to the letter, then corrected the reply; both go to the board")


def _close(client: httpx.Client, orders: dict[str, str], say: Say) -> None:
    for order_id in orders:
        if client.get(f"/v1/work-orders/{order_id}").json()["status"] == "replied":
            _event(client, order_id, "resolve")
    _event_all(client, orders)
    say("hotline resolved (办结) what agencies answered, and revisited (回访) every order")


def _event_all(client: httpx.Client, orders: dict[str, str]) -> None:
    for order_id in orders:
        _event(client, order_id, "revisit", satisfaction=5, note="市民表示满意")


def _verify(database_url: str) -> ChainReport:
    store = open_sql_store(database_url)
    try:
        return verify_chain(store.audit_records(), store.audit_head())
    finally:
        store.engine.dispose()


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _log_to(path: Path) -> None:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    install_log_masking()
    root.setLevel(logging.INFO)
