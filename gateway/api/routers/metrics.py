"""Prometheus scrape endpoint (`GET /metrics`, text exposition format)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST

from gateway.api.auth import Principal, Role, allow
from gateway.api.deps import gateway
from gateway.bootstrap import Gateway
from gateway.observability.metrics import snapshot

router = APIRouter(tags=["operations"])
GatewayDep = Annotated[Gateway, Depends(gateway)]
Watcher = Annotated[Principal, Depends(allow(Role.operator, Role.viewer))]


@router.get(
    "/metrics",
    summary="Delivery counters and outbox gauges for Prometheus",
    response_class=Response,
    responses={
        200: {
            "content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}},
            "description": "the Prometheus text exposition format",
        }
    },
)
async def metrics(gw: GatewayDep, _who: Watcher) -> Response:
    """Counters from this process; backlog, dead letters and agency states from the store."""
    seen = await gw.store.read(snapshot)
    health = gw.store.write_health
    gw.metrics.store_writes(health.refusing, health.refused_writes)
    body = gw.metrics.exposition(seen, gw.dispatcher.breakers.states())
    return Response(body, media_type=CONTENT_TYPE_LATEST)
