"""`lianxin demo`: the whole loop on loopback, with simulated agencies and hotline.

Starts a simulated hotline platform, the 12366 tax sub-centre and city management (REST;
city management is down for the first seconds), 110 and 12360 customs (SOAP), and the
gateway on SQLite. Submits realistic orders, has 110 push one of its own 双非 cases, and
follows each through routing, delivery, retries, the agencies' answers, the callbacks and
the hotline's closing steps. Exits 0 only when every order ended as expected and the audit
chain verifies.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from gateway.demo_orders import DEMO_ORDERS, POLICE_PUSH, UTILITY_ORDERS
from gateway.demo_report import AGENCY_FINAL, summarise
from gateway.demo_stage import OUTAGE_SECONDS, Stage, stage
from gateway.service.audit import ChainReport, verify_chain
from gateway.store.sql import SqlStore

Say = Callable[[str], None]


def run_demo(keep: Path | None = None, timeout: float = 90.0) -> int:
    """Run the demo; 0 when everything went as expected."""
    workdir = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="lianxin-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    _log_to(workdir / "lianxin.log")
    try:
        with stage(workdir) as cast:
            return _play(cast, timeout)
    finally:
        logging.getLogger().handlers.clear()
        if keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"kept database and log in {workdir}")


def _play(cast: Stage, timeout: float) -> int:
    started = time.monotonic()

    def say(text: str) -> None:
        print(f"[{time.monotonic() - started:5.1f}s] {text}", flush=True)

    say(f"gateway up at {cast.gateway_url}; city-management is DOWN for {OUTAGE_SECONDS:.0f}s")
    with httpx.Client(base_url=cast.gateway_url, timeout=10) as client:
        say(cast.broker_note)
        orders = _submit(client, say, DEMO_ORDERS + (UTILITY_ORDERS if cast.utilities else []))
        pushed = _police_push(cast, say)
        _follow(client, {**orders, pushed: "110转办：施工噪声"}, say, timeout, pushed)
        _close_police_case(client, pushed, say)
        _close(client, orders, say)
        finals = {oid: client.get(f"/v1/work-orders/{oid}").json() for oid in (*orders, pushed)}
    return summarise(cast, finals, _verify(cast.database_url), time.monotonic() - started)


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
    client: httpx.Client, orders: dict[str, str], say: Say, timeout: float, pushed: str
) -> None:
    seen: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for order_id, title in orders.items():
            status = client.get(f"/v1/work-orders/{order_id}").json()["status"]
            if seen.get(order_id) != status:
                seen[order_id] = status
                say(f"{title[:16]:<16} {status}")
        done = [s in AGENCY_FINAL for oid, s in seen.items() if oid != pushed]
        if all(done) and seen.get(pushed) == "dispatched":
            return
        time.sleep(0.2)


def _event(client: httpx.Client, order_id: str, kind: str, **fields: Any) -> None:
    body = {"type": kind, "event_id": f"demo-{kind}", "occurred_at": _now(), **fields}
    response = client.post(f"/v1/work-orders/{order_id}/events", json=body)
    if response.status_code >= 400:
        print(f"PROBLEM: {kind} refused for {order_id}: {response.json()}")


def _close_police_case(client: httpx.Client, order_id: str, say: Say) -> None:
    _event(client, order_id, "accept", flow_id="GZ12345-20261124-000900")
    _event(client, order_id, "feedback", note="已转住建部门，施工单位已停止夜间施工。")
    _event(client, order_id, "resolve")
    _event(client, order_id, "revisit", satisfaction=5, note="报警人表示满意")
    say("hotline accepted 110's case and fed back; 110 hears it over SOAP")


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
    store = SqlStore(database_url)
    try:
        return verify_chain(store.audit_records(), store.audit_head())
    finally:
        store.engine.dispose()


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat()


def _log_to(path: Path) -> None:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
