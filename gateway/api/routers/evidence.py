"""One work order's evidence bundle, for the hotline platform and admins (docs/evidence.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Response

from gateway.api.auth import Principal, Role, allow
from gateway.api.deps import gateway
from gateway.bootstrap import Gateway
from gateway.domain.errors import Forbidden
from gateway.domain.evidence import SealedBundle

router = APIRouter(prefix="/v1/work-orders", tags=["evidence"])
GatewayDep = Annotated[Gateway, Depends(gateway)]
Entitled = Annotated[Principal, Depends(allow(Role.hotline))]  # admins are always admitted
OrderId = Annotated[str, Path(max_length=40)]


@router.get(
    "/{order_id}/evidence",
    summary="The order's sealed evidence bundle, verifiable offline",
    response_class=Response,
    responses={
        200: {
            "model": SealedBundle,
            "description": "a `lianxin-evidence/2` bundle; check it with "
            "`lianxin evidence verify FILE` or docs/evidence.md",
        },
        403: {"description": "`personal_data=plain` asked by a role other than admin"},
        404: {"description": "no audit entry names that order (`unknown_order`)"},
    },
)
async def evidence(
    order_id: OrderId,
    gw: GatewayDep,
    who: Entitled,
    personal_data: Annotated[
        Literal["masked", "plain"],
        Query(
            description="`plain` (admins only) adds the bodies of received messages, which "
            "may hold personal data, so the agencies' signatures verify offline"
        ),
    ] = "masked",
) -> Response:
    """Every audit entry of the order, the messages' digests and signatures (the agencies'
    signature material on what they sent), the inclusion proofs to signed and witnessed
    checkpoints, and the public keys; personal data only as digests or masked, unless an
    admin asks for `personal_data=plain`. Entries not yet checkpointed are checkpointed first."""
    plain = personal_data == "plain"
    if plain and who.role != Role.admin:
        raise Forbidden("only an admin may export message bodies (personal_data=plain)")
    text = await gw.evidence.export(order_id, f"{who.name} ({who.role})", plain)
    disposition = f'attachment; filename="evidence-{order_id}.json"'
    return Response(
        text.encode(),
        media_type="application/json",
        headers={"Content-Disposition": disposition},
    )
