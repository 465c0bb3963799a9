"""The reference pipeline: the least work that still keeps Lianxin's promise, on its stack.

The yardstick for the e2e benchmark. `POST /v1/work-orders` (the load generator's orders)
→ one group-committed transaction per batch of intakes holding, per order, the order row,
one outbox row and one hash-chained audit row (bench/reference_ledger.py) → 202 only once
that transaction has committed → one Standard Webhooks Ed25519-signed POST of the order
to the agency over aiohttp → the outbox row marked `delivered` (group-committed too).
Same uvicorn (+uvloop, httptools) setup and GIL switch interval as `lianxin serve`, same
database settings. No validation beyond "a JSON object with a flow_id", no mapping, no
routing, no encryption at rest, no per-order ordering, no callbacks, no deadlines, and a
failed delivery is retried from memory only: what Lianxin does beyond this is what the
ratio to this row costs.

`python -m bench.reference PORT` with BENCH_REFERENCE_DATABASE (a SQLAlchemy-style
sqlite:/// or postgresql URL), BENCH_REFERENCE_AGENCY (the agency's URL) and
BENCH_REFERENCE_KEY (a `whsk_` Ed25519 signing key).
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from bench.reference_ledger import Delivered, Intake, Ledger
from gateway.cli.serve import GIL_SWITCH_INTERVAL
from gateway.crypto.signing import MessageSigner, parse_signing_key
from gateway.service.json_codec import reference_canonical_json as canonical

RETRY_CAP = 30.0  # seconds between delivery attempts at most


class Pipeline:
    """The ledger, the signer and the agency client of one running reference app."""

    def __init__(self, database_url: str, agency_url: str, signing_key: str) -> None:
        self.ledger = Ledger(database_url)
        self.agency_url = agency_url
        self.signer = MessageSigner([parse_signing_key(signing_key)])
        self.client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        self._deliveries: set[asyncio.Task[None]] = set()

    async def accept(self, order: dict[str, Any]) -> str:
        """Record the order durably, then start its delivery; its outbox message id."""
        intake = Intake(str(order["flow_id"]), canonical(order), f"msg_{uuid.uuid4().hex}")
        await asyncio.wrap_future(self.ledger.submit(intake))
        task = asyncio.create_task(self.deliver(intake))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)
        return intake.message_id

    async def deliver(self, intake: Intake) -> None:
        """POST the signed transfer until the agency answers 2xx, then record the delivery."""
        flow_id = canonical(intake.flow_id)
        body = f'{{"type":"work_order.transfer","flow_id":{flow_id},"work_order":{intake.body}}}'
        wait = 0.5
        while not await self._post(intake.message_id, body.encode()):
            await asyncio.sleep(wait)
            wait = min(2 * wait, RETRY_CAP)
        await asyncio.wrap_future(self.ledger.submit(Delivered(intake.message_id)))

    async def _post(self, message_id: str, body: bytes) -> bool:
        headers = {"content-type": "application/json", **self.signer.headers(message_id, body)}
        try:
            async with self.client.post(self.agency_url, data=body, headers=headers) as answer:
                await answer.read()
                return 200 <= answer.status < 300
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def aclose(self) -> None:
        """Stop delivering, close the client and the ledger."""
        for task in list(self._deliveries):
            task.cancel()
        await asyncio.gather(*self._deliveries, return_exceptions=True)
        await self.client.close()
        self.ledger.close()


def create_app(database_url: str, agency_url: str, signing_key: str) -> FastAPI:
    """The reference intake; the pipeline lives for the app's lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pipeline = Pipeline(database_url, agency_url, signing_key)
        yield
        await app.state.pipeline.aclose()

    app = FastAPI(lifespan=lifespan)

    @app.post("/v1/work-orders", status_code=202)
    async def accept(order: dict[str, Any]) -> JSONResponse:
        """Accept a JSON object with a flow_id once it is committed."""
        if not isinstance(order.get("flow_id"), str):
            return JSONResponse({"error": "flow_id is required"}, 422)
        message_id = await app.state.pipeline.accept(order)
        return JSONResponse({"flow_id": order["flow_id"], "message_id": message_id}, 202)

    return app


def main() -> None:
    """Serve on 127.0.0.1:PORT as `lianxin serve` does."""
    app = create_app(
        os.environ["BENCH_REFERENCE_DATABASE"],
        os.environ["BENCH_REFERENCE_AGENCY"],
        os.environ["BENCH_REFERENCE_KEY"],
    )
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
