"""`lianxin demo`: the whole loop on loopback, with simulated agencies and hotline.

Starts a simulated hotline platform and two simulated agencies (the 12366 tax
sub-centre and city management, which is down for the first seconds), starts the
gateway on SQLite, submits realistic orders, and follows each one through routing,
delivery, retries, the agencies' updates, the callbacks and the hotline's revisit.
Exits 0 only when every order ended as expected and the audit chain verifies.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from connectors.simulators.agency import AgencySimulator, Script
from connectors.simulators.hotline import HotlineSimulator
from connectors.simulators.server import ServerThread
from gateway.api.app import create_app
from gateway.demo_orders import DEMO_ORDERS
from gateway.service.audit import verify_chain
from gateway.settings import Settings
from gateway.signing import generate_ed25519_key, public_text_of
from gateway.store.sql import SqlStore

TAX_SCRIPT = Script(
    steps=(("已签收", 0.3), ("办理中", 0.5), ("已办结", 0.5)),
    result="已电话告知纳税人专项附加扣除的填报路径，纳税人表示清楚。",
)
CITY_SCRIPT = Script(
    steps=(("accepted", 0.3), ("working", 0.5), ("closed", 0.5)),
    result="执法队员已到场核查，责令整改，现场已恢复正常。",
)
OUTAGE_SECONDS = 2.0


@dataclass
class Stage:
    """The running parts of the demo."""

    gateway_url: str
    hotline: HotlineSimulator
    agencies: dict[str, AgencySimulator]
    database_url: str


def run_demo(keep: Path | None = None, timeout: float = 90.0) -> int:
    """Run the demo; 0 when everything went as expected."""
    workdir = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="lianxin-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    _log_to(workdir / "lianxin.log")
    try:
        with _stage(workdir) as stage:
            return _play(stage, timeout)
    finally:
        logging.getLogger().handlers.clear()
        if keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"kept database and log in {workdir}")


@contextmanager
def _stage(workdir: Path) -> Iterator[Stage]:
    gateway_key = generate_ed25519_key()
    gateway_public = public_text_of(gateway_key)
    with ExitStack() as stack:
        hotline = HotlineSimulator([gateway_public])
        hotline_server = stack.enter_context(ServerThread(hotline.app))
        gateway_server = ServerThread()
        gateway_url = gateway_server.url
        agencies, settings_keys, endpoints = {}, {}, {}
        for agency, prefix, script in (
            ("tax-12366", "SW", TAX_SCRIPT),
            ("city-management", "CG", CITY_SCRIPT),
        ):
            key = generate_ed25519_key()
            sim = AgencySimulator(agency, gateway_url, [gateway_public], key, script, prefix)
            server = stack.enter_context(ServerThread(sim.app))
            agencies[agency], settings_keys[agency] = sim, [public_text_of(key)]
            endpoints[agency] = f"{server.url}/orders"
        database_url = f"sqlite:///{workdir / 'lianxin.db'}"
        settings = Settings(
            database_url=database_url,
            hotline_callback_url=f"{hotline_server.url}/callbacks",
            agency_endpoints=endpoints,
            agency_keys=settings_keys,
            signing_keys=[SecretStr(gateway_key)],
            poll_interval=0.5,
        )
        agencies["city-management"].go_down(OUTAGE_SECONDS)
        gateway_server.start(create_app(settings))
        stack.callback(gateway_server.stop)
        yield Stage(gateway_url, hotline, agencies, database_url)


def _play(stage: Stage, timeout: float) -> int:
    started = time.monotonic()

    def say(text: str) -> None:
        print(f"[{time.monotonic() - started:5.1f}s] {text}", flush=True)

    say(f"gateway up at {stage.gateway_url}; city-management is DOWN for {OUTAGE_SECONDS:.0f}s")
    with httpx.Client(base_url=stage.gateway_url, timeout=10) as client:
        orders = _submit(client, say)
        finals = _follow(client, orders, say, timeout)
        _revisit(client, orders, say)
        finals = {order_id: client.get(f"/v1/work-orders/{order_id}").json() for order_id in orders}
    return _summarise(stage, orders, finals, time.monotonic() - started)


def _submit(client: httpx.Client, say: Callable[[str], None]) -> dict[str, str]:
    orders: dict[str, str] = {}
    for order in DEMO_ORDERS:
        response = client.post("/v1/work-orders", json=order)
        body = response.json()
        if response.status_code >= 400:
            raise SystemExit(f"intake refused {order['flow_id']}: {body}")
        agencies = " + ".join([body["lead_agency"], *body["assisting_agencies"]])
        say(f"submitted {order['flow_id']} 「{order['title']}」 → {agencies}")
        orders[body["id"]] = order["title"]
    supplement = {
        **DEMO_ORDERS[0],
        "revision": 2,
        "content": DEMO_ORDERS[0]["content"] + " 补充：今晚22点后仍在施工。",
    }
    client.post("/v1/work-orders", json=supplement).raise_for_status()
    say(f"supplemented {supplement['flow_id']} with revision 2")
    return orders


def _follow(
    client: httpx.Client, orders: dict[str, str], say: Callable[[str], None], timeout: float
) -> dict[str, str]:
    seen: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for order_id, title in orders.items():
            status = client.get(f"/v1/work-orders/{order_id}").json()["status"]
            if seen.get(order_id) != status:
                seen[order_id] = status
                say(f"{title[:16]:<16} {status}")
        if all(status == "resolved" for status in seen.values()):
            break
        time.sleep(0.2)
    return seen


def _revisit(client: httpx.Client, orders: dict[str, str], say: Callable[[str], None]) -> None:
    for order_id in orders:
        event = {
            "type": "revisit",
            "event_id": "revisit-1",
            "satisfaction": 5,
            "occurred_at": "2026-11-24T10:00:00+08:00",
            "note": "市民表示满意",
        }
        response = client.post(f"/v1/work-orders/{order_id}/events", json=event)
        if response.status_code >= 400:
            say(f"revisit refused for {order_id}: {response.json()}")
    say("hotline recorded revisits (回访) for every resolved order")


def _summarise(stage: Stage, orders: dict[str, str], finals: dict[str, Any], elapsed: float) -> int:
    handoffs = [h for body in finals.values() for h in body["handoffs"]]
    events = [e["event"] for body in finals.values() for e in body["timeline"]]
    store = SqlStore(stage.database_url)
    try:
        report = verify_chain(store.audit_records(), store.audit_head())
    finally:
        store.engine.dispose()
    problems = _problems(stage, finals, handoffs, events, report.ok)
    print("\n── summary ─────────────────────────────────────────")
    print(f"orders            {len(orders)}")
    print(
        f"handoffs          {len(handoffs)} "
        f"({sum(h['state'] == 'delivered' for h in handoffs)} delivered)"
    )
    print(f"retries           {events.count('retry_scheduled')} (city-management outage)")
    print(
        f"callbacks         {sum(len(v) for v in stage.hotline.statuses.values())} "
        f"status callbacks to the hotline, all signatures verified"
    )
    finals_count: dict[str, int] = {}
    for body in finals.values():
        finals_count[body["status"]] = finals_count.get(body["status"], 0) + 1
    print(f"final states      {finals_count}")
    print(
        f"duplicates        {sum(a.duplicates() for a in stage.agencies.values())} "
        "repeated deliveries (each applied once by the receiver)"
    )
    print(
        f"audit chain       {report.entries} entries, "
        + ("verified" if report.ok else f"BROKEN at {report.seq}: {report.problem}")
    )
    print(f"elapsed           {elapsed:.1f}s")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print("demo " + ("passed" if not problems else "FAILED"))
    return 0 if not problems else 1


def _problems(
    stage: Stage,
    finals: dict[str, Any],
    handoffs: list[dict[str, Any]],
    events: list[str],
    audit_ok: bool,
) -> list[str]:
    problems = [
        f"{oid} ended {body['status']}, expected revisited"
        for oid, body in finals.items()
        if body["status"] != "revisited"
    ]
    problems += [
        f"handoff {h['id']} is {h['state']}" for h in handoffs if h["state"] != "delivered"
    ]
    if "retry_scheduled" not in events:
        problems.append("the outage caused no retry")
    for order_id in finals:
        if "resolved" not in stage.hotline.statuses.get(order_id, []):
            problems.append(f"the hotline never heard that {order_id} was resolved")
    if not audit_ok:
        problems.append("the audit chain does not verify")
    return problems


def _log_to(path: Path) -> None:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
