"""The reference pipeline keeps its promise (durable, chained, signed, delivered, recorded),
and bench.statements counts what an order costs the database."""

from __future__ import annotations

import base64
import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.orders import consult
from bench.reference import create_app
from bench.reference_ledger import chain_breaks
from bench.reference_world import ReferenceWorld
from bench.sink import read_body
from bench.statements import measure, report
from bench.suites import throughput
from bench.world import database, sink_count
from connectors.simulators.server import ServerThread
from gateway.crypto.signing import generate_ed25519_key

Delivery = tuple[dict[str, str], bytes]


class Agency:
    """Keeps every delivery's headers and body; answers 200."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.deliveries.append((headers, body))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture
def reference(tmp_path: Path) -> Iterator[tuple[str, Agency, Path, str]]:
    """(reference URL, its agency, its SQLite file, its signing key)."""
    agency, key, file = Agency(), generate_ed25519_key(), tmp_path / "ref.db"
    with ExitStack() as stack:
        agency_url = stack.enter_context(ServerThread(agency)).url
        app = create_app(f"sqlite:///{file}", f"{agency_url}/orders", key)
        yield stack.enter_context(ServerThread(app)).url, agency, file, key


def _rows(file: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(file)) as conn:
        return conn.execute(sql).fetchall()


def _verifies(key: str, headers: dict[str, str], body: bytes) -> bool:
    """Standard Webhooks v1a, checked with `cryptography` directly (not our facade)."""
    seed = base64.b64decode(key.removeprefix("whsk_"))
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    content = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    scheme, _, signature = headers["webhook-signature"].partition(",")
    try:
        public.verify(base64.b64decode(signature), content)
    except Exception:
        return False
    return scheme == "v1a"


def test_the_reference_commits_with_a_chained_audit_row_then_delivers_signed_and_records_it(
    reference: tuple[str, Agency, Path, str],
) -> None:
    url, agency, file, key = reference
    for flow_id in ("R-1", "R-2"):
        answer = httpx.post(f"{url}/v1/work-orders", json=consult(flow_id), timeout=10)
        assert answer.status_code == 202
        # 202 means committed: the order and its outbox row are there already
        assert _rows(file, f"SELECT count(*) FROM ref_orders WHERE flow_id = '{flow_id}'") == [(1,)]
    audit = _rows(file, "SELECT seq, entry, hash FROM ref_audit ORDER BY seq")
    assert [json.loads(entry)["flow_id"] for _, entry, _ in audit] == ["R-1", "R-2"]
    assert chain_breaks(audit) == []
    assert chain_breaks([audit[0], (2, audit[1][1].replace("R-2", "R-3"), audit[1][2])]) == [2]
    deadline = time.monotonic() + 5
    while _rows(file, "SELECT count(*) FROM ref_outbox WHERE state = 'delivered'") != [(2,)]:
        assert time.monotonic() < deadline, "deliveries not recorded"
        time.sleep(0.02)
    assert len(agency.deliveries) == 2
    for headers, body in agency.deliveries:
        assert _verifies(key, headers, body)
        assert not _verifies(key, headers, body + b" ")
    sent = {json.loads(body)["flow_id"]: head["webhook-id"] for head, body in agency.deliveries}
    outbox = dict(_rows(file, "SELECT flow_id, id FROM ref_outbox"))
    assert sent == outbox  # each delivery carries the id its outbox row was written with


def test_the_reference_refuses_an_order_without_a_flow_id(
    reference: tuple[str, Agency, Path, str],
) -> None:
    url, _, file, _ = reference
    answer = httpx.post(f"{url}/v1/work-orders", json={"title": "no id"}, timeout=10)
    assert answer.status_code == 422
    assert _rows(file, "SELECT count(*) FROM ref_audit") == [(0,)]


def test_the_e2e_benchmark_drives_the_reference_as_it_drives_lianxin(tmp_path: Path) -> None:
    with database("sqlite", tmp_path) as url, ReferenceWorld(url, tmp_path) as world:
        got = throughput(world, 100, 8, world.delivered)
        assert world.delivered() == 150  # 50 of warm-up, then the 100, counted in its database
        assert sink_count(world.sink.url) >= 150  # the agency got each one
    assert got.rate > 0 and got.server_cpu > 0 and got.cpu_ms_per_order > 0


def test_statements_per_order_are_counted_on_sqlite() -> None:
    got = measure("sqlite", orders=3, idle=0.1)
    groups = got.tally.by_group()
    assert groups["INSERT"] > 0 and groups["UPDATE"] > 0 and groups["SELECT"] > 0
    assert got.tally.commits >= got.orders  # at least the intake's transaction each
    assert got.rows["audit_log"] >= got.orders
    assert got.rows["handoffs"] >= got.orders  # at least the transfer each
    table = report("sqlite", got, 1)
    assert "| commits (transactions) |" in table
    assert "| round trips | - (in-process) |" in table
