"""Unauthenticated traffic writes nothing permanent: counted, summarised once per interval.

A message for an unknown agency, or one whose signature does not verify, proves nothing
about its sender; each would otherwise add a permanent, hash-chained audit entry. Here
1,000 posts with long and odd agency names and 1,000 bad-signature posts naming a real
agency must leave only a few `refusals_summarised` entries, counting every refusal.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select, text

from gateway.crypto.signing import generate_ed25519_key
from gateway.store.schema import audit_log
from tests.conftest import Stack
from tests.integration.api.helpers import signed_post, wait_until

INTERVAL = 2.0
ODD_NAMES = [
    "x" * 30_000,
    "a%00b",
    "%E4%BD%A0%E5%A5%BD",
    "tax-12366%20",
    "..%5C..",
    "Z" * 51,
    "%F0%9F%98%80",
]


@pytest.fixture
def stack(make_stack: Callable[..., Stack]) -> Stack:
    return make_stack(refusal_summary_interval=INTERVAL)


@pytest.fixture
def client(stack: Stack) -> Iterator[httpx.Client]:
    limits = httpx.Limits(max_connections=8)
    with httpx.Client(base_url=stack.url, timeout=30, limits=limits) as client:
        yield client


def audit_rows(database_url: str) -> list[tuple[str, str | None, dict[str, Any]]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(audit_log.c.event, audit_log.c.party, audit_log.c.detail).order_by(
                    audit_log.c.seq
                )
            ).all()
    finally:
        engine.dispose()
    return [(event, party, json.loads(detail)) for event, party, detail in rows]


def database_bytes(database_url: str) -> int:
    if database_url.startswith("sqlite"):
        path = Path(database_url.removeprefix("sqlite:///"))
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("select pg_database_size(current_database())")).scalar())
    finally:
        engine.dispose()


def summarised(database_url: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for event, party, detail in audit_rows(database_url):
        if event == "refusals_summarised" and party is not None:
            counts[party] = counts.get(party, 0) + int(detail["count"])
    return counts


@pytest.mark.slow  # left out of the fast tier (README, "Tests")
def test_anonymous_and_bad_signature_floods_leave_only_summaries(
    stack: Stack, client: httpx.Client
) -> None:
    url = stack.settings.database_url
    before_rows, before_bytes = len(audit_rows(url)), database_bytes(url)
    started = time.monotonic()
    forger = generate_ed25519_key()

    def anonymous(i: int) -> tuple[int, str]:
        name = ODD_NAMES[i % len(ODD_NAMES)]
        response = client.post(f"/v1/inbound/{name}{i}", content=b'{"type":"status"}')
        return response.status_code, response.json()["error"]["code"]

    def forged(i: int) -> tuple[int, str]:
        response = signed_post(client, "tax-12366", forger, {"type": "status"}, f"m-{i}")
        return response.status_code, response.json()["error"]["code"]

    with ThreadPoolExecutor(8) as pool:  # 8 callers at once: the loopback round trip is slow
        assert set(pool.map(anonymous, range(1_000))) == {(404, "unknown_agency")}
        assert set(pool.map(forged, range(1_000))) == {(401, "invalid_signature")}
    wait_until(
        lambda: summarised(url) == {"unknown": 1_000, "tax-12366": 1_000},
        timeout=4 * INTERVAL + 10,
        what="both parties summarised with every refusal counted",
    )
    elapsed = time.monotonic() - started
    added = audit_rows(url)[before_rows:]
    assert {event for event, _party, _detail in added} == {"refusals_summarised"}
    intervals = math.ceil(elapsed / INTERVAL) + 1
    assert len(added) <= 2 * intervals, "at most one summary per party per interval"
    growth = database_bytes(url) - before_bytes
    assert growth < 1_000_000, f"the database grew by {growth} bytes"
    print(f"2,000 refusals in {elapsed:.1f} s: {len(added)} audit entries, +{growth} bytes")
    first = next(d for _e, party, d in added if party == "tax-12366")
    assert set(first) == {"count", "codes", "first_seen", "last_seen", "interval_seconds"}
    assert set(first["codes"]) == {"invalid_signature"}


def test_the_404_for_an_unknown_agency_names_no_other_agency(client: httpx.Client) -> None:
    response = client.post("/v1/inbound/tax-12365", content=b"{}")
    assert response.status_code == 404
    text = response.text
    assert "tax-12366" not in text and "tax-12365" not in text and "known:" not in text
    assert "did you mean" not in text


def test_refusals_are_counted_in_metrics(client: httpx.Client) -> None:
    client.post("/v1/inbound/nobody", content=b"{}")
    signed_post(client, "tax-12366", generate_ed25519_key(), {"type": "status"}, "m-1")
    exposition = client.get("/metrics").text
    assert 'lianxin_unauthenticated_refusals_total{code="unknown_agency",party="unknown"} 1.0' in (
        exposition
    )
    assert (
        'lianxin_unauthenticated_refusals_total{code="invalid_signature",party="tax-12366"} 1.0'
        in exposition
    )
