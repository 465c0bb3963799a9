"""Work orders from the hotline platform: intake, state and timeline, hotline events."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Request, Response

from gateway.api.auth import READERS, Principal, Role, admit, allow
from gateway.api.deps import built, gateway
from gateway.api.direct import DirectRoute, direct, json_body
from gateway.api.examples import HOTLINE_EVENTS, WORK_ORDERS
from gateway.api.models import Accepted, EventOutcome, OrderView
from gateway.bootstrap import Gateway
from gateway.domain.bounds import ORDER_ID_MAX, OWN_ID
from gateway.domain.messages import HotlineEvent
from gateway.domain.workorder import WorkOrderIn
from gateway.service.json_codec import compact_json
from gateway.service.views.timeline import order_timeline

router = APIRouter(prefix="/v1/work-orders", tags=["work orders"], route_class=DirectRoute)
GatewayDep = Annotated[Gateway, Depends(gateway)]
SUBMITTERS = (Role.hotline,)
Submitter = Annotated[Principal, Depends(allow(*SUBMITTERS))]
Reader = Annotated[Principal, Depends(allow(*READERS))]
OrderId = Annotated[
    str, Path(min_length=1, max_length=ORDER_ID_MAX, pattern=OWN_ID, description="wo_…")
]


async def _submit_directly(request: Request) -> Response | None:
    """`submit` without the dependency solving: the body parsed and validated once, then
    the same role check as `Submitter` (FastAPI too parses the body before the check)."""
    order = await json_body(request, WorkOrderIn)
    if order is None:
        return None
    return await submit(order, built(request), admit(request, SUBMITTERS))


@router.post(
    "",
    status_code=202,
    summary="Submit a work order (idempotent on flow_id + revision)",
    response_model=None,
    responses={
        202: {"model": Accepted, "description": "stored, routed and queued to the agencies"},
        200: {"model": Accepted, "description": "this revision was already stored: nothing new"},
    },
)
@direct(_submit_directly)
async def submit(
    order: Annotated[WorkOrderIn, Body(openapi_examples=WORK_ORDERS)],
    gw: GatewayDep,
    _who: Submitter,
) -> Response:
    """Store, route and queue a work order; the same revision again changes nothing."""
    result = await gw.intake.submit(order)
    stored = result.order
    accepted = {
        "id": stored.id,
        "flow_id": stored.flow_id,
        "revision": stored.revision,
        "status": stored.status.value,
        "created": result.created,
        "lead_agency": stored.lead_agency,
        "assisting_agencies": stored.assisting_agencies,
        "handoffs": list(result.handoff_ids),
        "links": {"self": f"/v1/work-orders/{stored.id}"},
    }
    # written here, once: the answer is plain JSON and needs no jsonable_encoder pass
    return Response(
        compact_json(accepted),
        status_code=202 if result.created else 200,
        media_type="application/json",
    )


@router.get(
    "/{order_id}",
    summary="A work order's state and the timeline of every handoff",
    response_model=None,
    responses={200: {"model": OrderView, "description": "the order, masked"}},
)
async def show(order_id: OrderId, gw: GatewayDep, _who: Reader) -> dict[str, Any]:
    """The order, each handoff's delivery state, and every audit step."""
    return await gw.store.read(lambda uow: order_timeline(uow, order_id))


@router.post(
    "/{order_id}/events",
    summary="A hotline-side event: supplement, supervise, cancel…",
    response_model=None,
    responses={200: {"model": EventOutcome, "description": "applied, or a repeated event_id"}},
)
async def post_event(
    order_id: OrderId,
    event: Annotated[HotlineEvent, Body(openapi_examples=HOTLINE_EVENTS)],
    gw: GatewayDep,
    _who: Submitter,
) -> dict[str, Any]:
    """Apply the event through the state machine and tell the agencies."""
    outcome = await gw.sync.hotline_event(order_id, event)
    return {"result": outcome.result, "order_id": outcome.order_id, "status": outcome.status}
