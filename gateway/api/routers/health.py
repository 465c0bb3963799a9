"""Liveness, readiness and our public keys."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from gateway.api.deps import gateway
from gateway.bootstrap import Gateway

router = APIRouter(tags=["operations"])
GatewayDep = Annotated[Gateway, Depends(gateway)]


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    """Always ok while the process serves requests."""
    return {"status": "ok"}


@router.get("/readyz", summary="The database answers and the dispatcher runs")
async def readyz(gw: GatewayDep) -> JSONResponse:
    """503 until the store answers and delivery is running."""
    try:
        counts = await gw.store.read(lambda uow: uow.handoffs.count_by_state())
    except Exception as exc:  # readiness reports, it does not raise
        return JSONResponse({"status": "unavailable", "reason": str(exc)[:200]}, 503)
    if not gw.running:
        return JSONResponse({"status": "unavailable", "reason": "dispatcher not running"}, 503)
    return JSONResponse({"status": "ready", "handoffs": counts})


@router.get("/v1/keys", summary="Public keys that verify Lianxin's signatures")
async def keys(gw: GatewayDep) -> dict[str, Any]:
    """Our Ed25519 verifying keys (whpk_…), newest first."""
    return {"keys": gw.public_keys, "scheme": "v1a"}
