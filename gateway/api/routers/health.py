"""Liveness, readiness and our public keys."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from gateway.api.deps import gateway
from gateway.api.models import Alive, NotReady, PublicKeys, Ready
from gateway.api.readiness import problems
from gateway.bootstrap import Gateway

router = APIRouter(tags=["operations"])
GatewayDep = Annotated[Gateway, Depends(gateway)]


@router.get(
    "/healthz",
    summary="The process is alive",
    response_model=None,
    responses={200: {"model": Alive, "description": "alive"}},
)
async def healthz() -> dict[str, str]:
    """Always ok while the process serves requests."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Ready to work: database writable and current, data keys right, brokers reachable",
    response_model=None,
    responses={
        200: {"model": Ready, "description": "ready"},
        503: {
            "model": NotReady,
            "description": "not ready; `reasons` says why",
            "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
        },
    },
)
async def readyz(gw: GatewayDep) -> JSONResponse:
    """200 with the outbox's counts when ready; 503 with every reason when not."""
    reasons = await problems(gw)
    if reasons:
        body = {"status": "unavailable", "reason": reasons[0], "reasons": reasons}
        return JSONResponse(body, 503, headers={"Retry-After": "5"})
    try:
        counts = await gw.store.read(lambda uow: uow.handoff_queries.count_by_state())
    except Exception as exc:  # went away between the checks and now
        body = {"status": "unavailable", "reason": str(exc)[:200]}
        return JSONResponse(body, 503, headers={"Retry-After": "5"})
    return JSONResponse({"status": "ready", "handoffs": counts})


@router.get(
    "/v1/keys",
    summary="Public keys that verify Lianxin's signatures",
    response_model=None,
    responses={200: {"model": PublicKeys, "description": "newest first"}},
)
async def keys(gw: GatewayDep) -> dict[str, Any]:
    """Our Ed25519 verifying keys (whpk_…), newest first."""
    return {"keys": gw.public_keys, "scheme": "v1a"}
