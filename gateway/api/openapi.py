"""The published OpenAPI documents every answer the gateway can give, refusals included.

Every operation can be refused before its handler runs (rate limit, body and header
limits, a bad token, a database that refuses writes), so each gets the shared error
answers with the one error body (`{"error": {"code", "message", "details"}}`); SOAP
operations answer with a SOAP Fault in text/xml instead. FastAPI's own 422 schema is
replaced: the gateway's 422 has the same error body as every other refusal.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "stable, machine-readable"},
                "message": {"type": "string"},
                "details": {},
            },
        }
    },
}
REFUSALS = {
    "400": "malformed body or message",
    "401": "no valid token, signature or client certificate",
    "403": "the caller may not do this",
    "404": "no such order, agency or route",
    "405": "method not allowed",
    "409": "conflicts with the current state: `illegal_transition`, `revision_conflict`, "
    "`order_closed` (the order is cancelled or archived), `assignment_superseded` (the "
    "agency's assignment was handed on by 改派 or 重办)",
    "413": "body larger than LIANXIN_MAX_BODY_BYTES",
    "422": "a value outside the documented bounds",
    "429": "past the caller's rate limit; see Retry-After",
    "431": "request headers too large",
    "503": "the database refuses writes or is unreachable; see Retry-After",
}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}
ORDER_ID = {"order_id": "$response.body#/id"}
#: what a client (and schemathesis' stateful phase) can do next with an accepted order
LINKS = {
    ("/v1/work-orders", "post"): {
        "GetOrder": {
            "operationRef": "#/paths/~1v1~1work-orders~1{order_id}/get",
            "parameters": ORDER_ID,
        },
        "PostEvent": {
            "operationRef": "#/paths/~1v1~1work-orders~1{order_id}~1events/post",
            "parameters": ORDER_ID,
        },
    },
}
SOAP_FAULT = {"text/xml": {"schema": {"type": "string", "description": "a SOAP 1.1 Fault"}}}


def install(app: FastAPI) -> None:
    """Make `app.openapi()` return the schema with every refusal documented."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR
            for path, operations in schema.get("paths", {}).items():
                for method, operation in operations.items():
                    _document_refusals(operation, soap=path.startswith("/soap/"))
                    _link(operation, LINKS.get((path, method)))
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _link(operation: dict[str, Any], links: dict[str, Any] | None) -> None:
    if links is None:
        return
    for status in ("200", "202"):
        operation["responses"].setdefault(status, {"description": "accepted"})["links"] = links


def _document_refusals(operation: dict[str, Any], soap: bool) -> None:
    responses = operation.setdefault("responses", {})
    content = (
        SOAP_FAULT
        if soap
        else {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    )
    for status, text in REFUSALS.items():
        answer: dict[str, Any] = {"description": text, "content": content}
        if status in ("429", "503"):
            answer["headers"] = RETRY_AFTER
        if status == "422" or status not in responses:
            responses[status] = answer
    if soap:
        for answer in responses.values():
            answer.setdefault("content", {}).update(SOAP_FAULT)
