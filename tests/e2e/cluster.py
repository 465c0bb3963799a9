"""Two `lianxin serve` processes on one PostgreSQL database, with a simulated hotline and
tax agency around them: the set the scale-out and chaos tests run against."""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select

from connectors.simulators.agency import AgencySimulator, Script
from connectors.simulators.hotline import HotlineSimulator
from gateway.crypto.sealing import generate_data_key
from gateway.settings import REPO_ROOT
from gateway.store.schema import handoffs, work_orders
from gateway.store.sql import normalise_url
from gateway.world.simulated import Serving, serve_simulators
from tests.e2e.gateway_process import GatewayProcess, free_port
from tests.integration.api.helpers import order

#: the tax sub-centre signs for each order and closes it at once
SCRIPT = Script(steps=(("已签收", 0.0), ("已办结", 0.0)), result="已答复")
EXPECTED_CALLBACKS = ["dispatched", "signed", "resolved"]
#: seconds between attempts: outages in these tests last seconds, not hours
FAST_RETRY = "schedule = [0, 1, 1, 2, 2, 3, 3, 5, 5, 5, 5, 5, 5, 5, 5]\nthrottle_floor = 1\n"


def fast_retry_mappings(into: Path) -> Path:
    """A copy of mappings/ whose tax agency and hotline retry within seconds."""
    target = into / "mappings"
    shutil.copytree(REPO_ROOT / "mappings", target)
    for name in ("tax-12366", "hotline"):
        path = target / "agencies" / f"{name}.toml"
        text = re.sub(r"(schedule|throttle_floor) = [^\n]*\n", "", path.read_text("utf-8"))
        if "[retry]\n" not in text:
            text += "\n[retry]\n"
        path.write_text(text.replace("[retry]\n", f"[retry]\n{FAST_RETRY}"), encoding="utf-8")
    return target


@dataclass
class Cluster:
    """The running set; `gateways[i].url` is where orders go in."""

    database_url: str
    gateways: list[GatewayProcess]
    serving: Serving

    @property
    def tax(self) -> AgencySimulator:
        """The tax sub-centre, which every order of these tests goes to."""
        return self.serving.simulators.agencies["tax-12366"]

    @property
    def hotline(self) -> HotlineSimulator:
        """The hotline, which hears every callback."""
        return self.serving.simulators.hotline

    def restart_hotline(self, down_for: float) -> None:
        """Take the hotline's server away (connections refused), then bring it back."""
        self.serving.restart("hotline", down_for)


@contextmanager
def cluster(database_url: str, workdir: Path, script: Script = SCRIPT) -> Any:
    """Start the simulated world and two gateways on one database; stop them all afterwards."""
    ports = [free_port(), free_port()]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    with ExitStack() as stack:
        serving = serve_simulators(stack, urls, scripts={"tax-12366": script})
        shared = {
            **serving.gateway_settings(),  # one shared MQTT group, ours
            "database_url": database_url,
            "mappings_dir": str(fast_retry_mappings(workdir)),
            "data_keys": [generate_data_key()],  # one key for both, kept across restarts
            "lease_seconds": 3,
            "poll_interval": 0.2,
            "log_level": "WARNING",  # not a line per HTTP request: that costs CPU the test needs
            "mqtt_session_expiry": 120,
        }
        gateways = [
            GatewayProcess(port, {**shared, "node_id": f"gw-{n + 1}"}, workdir / f"gw-{n + 1}.log")
            for n, port in enumerate(ports)
        ]
        for gateway in gateways:
            stack.callback(gateway.stop)
        for gateway in gateways:
            gateway.start()
        yield Cluster(database_url, gateways, serving)


def submit(urls: list[str], numbers: range, accepted: dict[int, str]) -> None:
    """Submit orders, alternating gateways; when one does not answer, the other gets the
    same order again (intake is idempotent on flow_id)."""
    clients = [httpx.Client(base_url=url, timeout=10) for url in urls]
    try:
        for n in numbers:
            for attempt in range(600):
                client = clients[(n + attempt) % len(clients)]
                fresh = datetime.now(UTC).isoformat()  # no deadline card during the test
                try:
                    response = client.post(
                        "/v1/work-orders", json=order(f"GZ-{n:06d}", received_at=fresh)
                    )
                except httpx.HTTPError:
                    time.sleep(0.05)
                    continue
                if response.status_code in (200, 202):
                    accepted[n] = response.json()["id"]
                    break
                time.sleep(0.05)
            else:
                raise AssertionError(f"order {n} was never accepted")
    finally:
        for client in clients:
            client.close()


def submit_in_parallel(urls: list[str], orders: int, feeders: int = 4) -> dict[int, str]:
    """Submit `orders` orders from `feeders` threads; order number → order id."""
    accepted: dict[int, str] = {}
    threads = [
        threading.Thread(target=submit, args=(urls, range(f, orders, feeders), accepted))
        for f in range(feeders)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return accepted


def database_counts(url: str) -> tuple[Counter[str], Counter[str], Counter[str | None]]:
    """Orders by status; transfers and status callbacks by state; delivered ones by the
    process that sent them (alerts about an agency's health are left out)."""
    ours = handoffs.c.kind.in_(("transfer", "status"))
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            statuses = conn.execute(
                select(work_orders.c.status, func.count()).group_by(work_orders.c.status)
            ).all()
            states = conn.execute(
                select(handoffs.c.state, func.count()).where(ours).group_by(handoffs.c.state)
            ).all()
            owners = conn.execute(
                select(handoffs.c.lease_owner, func.count())
                .where(ours, handoffs.c.state == "delivered")
                .group_by(handoffs.c.lease_owner)
            ).all()
    finally:
        engine.dispose()
    return Counter(dict(statuses)), Counter(dict(states)), Counter(dict(owners))


def wait_for_outcomes(url: str, delivered: int, timeout: float) -> None:
    """Wait until `delivered` transfers and callbacks are recorded as delivered, and no
    other (dead, pending, in flight) remains; say what remains if that never happens."""
    deadline, states = time.monotonic() + timeout, Counter[str]()
    while time.monotonic() < deadline:
        states = database_counts(url)[1]
        if states == {"delivered": delivered}:
            return
        time.sleep(0.5)
    raise AssertionError(
        f"outcomes after {timeout}s: {dict(states)}, expected {delivered} delivered"
    )


def audit_verify(url: str) -> subprocess.CompletedProcess[str]:
    """`lianxin audit verify` as an operator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", "audit", "verify", "--database", url],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def transfers_per_order(tax: AgencySimulator) -> Counter[str]:
    """How many distinct transfers (handoff ids) the agency applied for each order."""
    return Counter(p["order_id"] for p in tax.payloads if p.get("type") == "work_order.transfer")


def pause(low: float, high: float) -> None:
    time.sleep(random.uniform(low, high))
