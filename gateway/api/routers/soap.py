"""SOAP services hosted for agencies: WSDL at `GET /soap/{agency}?wsdl`, calls by POST."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from connectors.soap import xml as soap_xml
from gateway.api.deps import built, caller, gateway
from gateway.api.direct import DirectRoute, direct
from gateway.bootstrap import Gateway
from gateway.domain.errors import LianxinError, StoreUnavailable

router = APIRouter(prefix="/soap", tags=["agencies"], route_class=DirectRoute)
XML = "text/xml; charset=utf-8"


@router.get("/{agency}", summary="The WSDL of the service Lianxin hosts for an agency")
async def wsdl(agency: str, request: Request, gw: Annotated[Gateway, Depends(gateway)]) -> Response:
    """The WSDL (`?wsdl`), its address set to this endpoint."""
    if "wsdl" not in request.query_params:
        return Response(soap_xml.fault("Client", "ask for ?wsdl"), 400, media_type=XML)
    address = str(request.url.remove_query_params("wsdl"))
    try:
        text = gw.soap.wsdl(agency, address)
    except LianxinError as exc:
        return Response(soap_xml.fault("Client", exc.message), exc.http_status, media_type=XML)
    return Response(text, media_type=XML)


async def _call_directly(request: Request) -> Response:
    """`call` without FastAPI's dependency solving (its `agency` is any string)."""
    return await call(request.path_params["agency"], request)


@router.post("/{agency}", summary="A SOAP call from an agency (signed in <lx:Signature>)")
@direct(_call_directly)
async def call(agency: str, request: Request) -> Response:
    """Apply the call; a SOAP Fault with a 4xx for anything refused."""
    gw, peer = built(request), await caller(request)  # plain calls: see inbound.receive
    answer = await gw.soap.handle(agency, await request.body(), peer)
    retry = {"Retry-After": str(StoreUnavailable.retry_after)} if answer.status == 503 else None
    return Response(answer.content, answer.status, headers=retry, media_type=XML)
