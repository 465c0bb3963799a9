"""Signed messages from agencies: status updates and new transfers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from gateway.api.deps import built, caller
from gateway.api.direct import DirectRoute, direct
from gateway.api.models import EventOutcome
from gateway.service.orders.status_sync import AgencyMessage

router = APIRouter(prefix="/v1/inbound", tags=["agencies"], route_class=DirectRoute)


def _inlined(schema: Any, defs: dict[str, Any]) -> Any:
    """`schema` with its local `$ref`s replaced by what they name (the OpenAPI document
    has no `$defs` of its own for these models)."""
    if isinstance(schema, dict):
        ref = schema.get("$ref", "")
        if ref.startswith("#/$defs/"):
            return _inlined(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inlined(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inlined(item, defs) for item in schema]
    return schema


_MESSAGE_SCHEMA = AgencyMessage.json_schema()
MESSAGE_SCHEMA = _inlined(_MESSAGE_SCHEMA, _MESSAGE_SCHEMA.get("$defs", {}))


async def _receive_directly(request: Request) -> Response:
    """`receive` without FastAPI's dependency solving (its `agency` is any string)."""
    return await receive(request.path_params["agency"], request)


@router.post(
    "/{agency}",
    summary="A signed agency message (Standard Webhooks headers)",
    response_model=None,
    responses={
        200: {"model": EventOutcome, "description": "applied, recorded or a duplicate"},
        201: {"model": EventOutcome, "description": "an agency's transfer: a new order"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": MESSAGE_SCHEMA}},
        }
    },
)
@direct(_receive_directly)
async def receive(agency: str, request: Request) -> Response:
    """Verify, de-duplicate and apply; a repeated webhook-id is acknowledged, not re-applied."""
    # the gateway and the caller are plain calls, not `Depends`: FastAPI's solving of
    # them per request cost more CPU than the rest of the route's HTTP side
    gw, peer = built(request), await caller(request)
    outcome = await gw.sync.receive(agency, request.headers, await request.body(), caller=peer)
    answer = {"result": outcome.result, "order_id": outcome.order_id, "status": outcome.status}
    return JSONResponse(answer, 201 if outcome.result == "created" else 200)
