"""Signed messages from agencies: status updates and new transfers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from gateway.api.deps import caller, gateway
from gateway.bootstrap import Gateway
from gateway.service.status_sync import Caller

router = APIRouter(prefix="/v1/inbound", tags=["agencies"])


@router.post(
    "/{agency}",
    summary="A signed agency message (Standard Webhooks headers)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def receive(
    agency: str,
    request: Request,
    response: Response,
    gw: Annotated[Gateway, Depends(gateway)],
    peer: Annotated[Caller | None, Depends(caller)],
) -> dict[str, Any]:
    """Verify, de-duplicate and apply; a repeated webhook-id is acknowledged, not re-applied."""
    outcome = await gw.sync.receive(agency, request.headers, await request.body(), caller=peer)
    if outcome.result == "created":
        response.status_code = 201
    return {"result": outcome.result, "order_id": outcome.order_id, "status": outcome.status}
