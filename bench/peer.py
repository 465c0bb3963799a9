"""The peer: the same flow built the way a Python team would without Lianxin.

A tiny FastAPI intake calls `.delay()` on a Celery task; a Celery worker (Redis broker on
127.0.0.1:6379, prefork, concurrency 2, late acks so a crash re-runs the task) signs the
order with the same Standard Webhooks Ed25519 signature and POSTs it to the same loopback
agency, with `autoretry_for` and exponential backoff. No database, no audit trail, no
per-order ordering: the row shows what those cost. Settings come from BENCH_PEER_*
variables because the worker is a separate process started by the benchmark.

`python -m bench.peer PORT` serves the intake.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import httpx
import uvicorn
from celery import Celery
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from gateway.crypto.signing import MessageSigner, parse_signing_key

app = Celery("lianxin_peer", broker=os.environ.get("BENCH_PEER_BROKER", "redis://127.0.0.1:6379/0"))
app.conf.update(
    task_acks_late=True,
    task_ignore_result=True,
    task_default_queue=os.environ.get("BENCH_PEER_QUEUE", "lianxin-peer"),
    worker_prefetch_multiplier=4,
    broker_connection_retry_on_startup=True,
)
_clients: dict[str, Any] = {}


def _client() -> httpx.Client:
    """One keep-alive client per worker process."""
    if "http" not in _clients:
        _clients["http"] = httpx.Client(timeout=10)
        _clients["signer"] = MessageSigner([parse_signing_key(os.environ["BENCH_PEER_KEY"])])
    return _clients["http"]  # type: ignore[no-any-return]


@app.task(  # type: ignore[untyped-decorator]
    name="lianxin_peer.deliver",
    autoretry_for=(httpx.HTTPError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=10,
)
def deliver(order: dict[str, Any]) -> None:
    """Sign the order and POST it to the agency; any HTTP error or non-2xx retries."""
    client = _client()
    body = json.dumps(
        {"type": "work_order.transfer", "flow_id": order["flow_id"], "work_order": order},
        ensure_ascii=False,
    ).encode()
    headers = _clients["signer"].headers(f"msg_{order['flow_id']}", body)
    response = client.post(
        os.environ["BENCH_PEER_AGENCY"],
        content=body,
        headers={"content-type": "application/json", **headers},
    )
    response.raise_for_status()


intake = FastAPI()


@intake.post("/v1/work-orders", status_code=202)
def accept(order: dict[str, Any]) -> JSONResponse:
    """Queue the order for the worker and answer 202."""
    deliver.delay(order)
    return JSONResponse({"flow_id": order.get("flow_id"), "status": "queued"}, 202)


if __name__ == "__main__":
    uvicorn.run(
        intake, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False
    )
