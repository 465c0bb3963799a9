"""The published OpenAPI documents every answer the gateway can give, refusals included.

Each operation's 2xx answers are typed (gateway/api/models.py). Every operation can be
refused before its handler runs (rate limit, body and header limits, a bad token, a
database that refuses writes), so each gets the refusals it can really meet, with the one
error body (`{"error": {"code", "message", "details"}}`, the `Error` component); SOAP
operations answer with a SOAP Fault in text/xml instead. FastAPI's own 422 schema
(`HTTPValidationError`) is replaced: the gateway never sends it.

Security: `bearer` (LIANXIN_API_TOKENS) on the operations that take a token, added by
their `allow(...)` dependency with the roles admitted (OpenAPI 3.1 lets a requirement of
any scheme list roles); 403 only where some role is refused. Agencies sign their messages
(Standard Webhooks headers, documented as header parameters of `POST /v1/inbound/{agency}`)
and, when LIANXIN_TLS_CLIENT_CA is set, present a client certificate (`agencyCertificate`,
mutualTLS). The console's session cookie is documented as `consoleSession`; the console's
pages are not part of this document.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from gateway.api.auth import Role
from gateway.api.console.session import SESSION_COOKIE
from gateway.api.examples import AGENCY_MESSAGES
from gateway.api.models import Error

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
ERROR_REF = {"$ref": "#/components/schemas/Error"}
#: which refusals an operation can meet, beyond the ones every operation can (405, 431)
TOKEN_REFUSALS = ("401", "403")
EVERY_ROLE = {role.value for role in Role}
PUBLIC = {("/healthz", "get"), ("/readyz", "get"), ("/v1/keys", "get")}
CONFLICTS = {
    ("/v1/work-orders", "post"),
    ("/v1/work-orders/{order_id}/events", "post"),
    ("/v1/inbound/{agency}", "post"),
}
NOT_FOUND = {
    ("/v1/work-orders", "post"),
    ("/v1/admin/deliveries", "get"),
    ("/v1/admin/replay", "post"),
}
SIGNED = {("/v1/inbound/{agency}", "post"), ("/soap/{agency}", "post")}
#: short, stable names for generated clients (`lianxin.submit_work_order(...)`), instead of
#: FastAPI's `submit_v1_work_orders_post`
OPERATION_IDS = {
    ("/v1/work-orders", "post"): "submitWorkOrder",
    ("/v1/work-orders/{order_id}", "get"): "getWorkOrder",
    ("/v1/work-orders/{order_id}/events", "post"): "postHotlineEvent",
    ("/v1/work-orders/{order_id}/evidence", "get"): "getEvidenceBundle",
    ("/v1/inbound/{agency}", "post"): "receiveAgencyMessage",
    ("/soap/{agency}", "get"): "getSoapWsdl",
    ("/soap/{agency}", "post"): "callSoapService",
    ("/healthz", "get"): "getLiveness",
    ("/readyz", "get"): "getReadiness",
    ("/v1/keys", "get"): "getPublicKeys",
    ("/v1/admin/deliveries", "get"): "listDeadLetters",
    ("/v1/admin/replay", "post"): "replayDeadLetters",
    ("/v1/admin/replay/cancel", "post"): "cancelReplays",
    ("/v1/admin/agencies", "get"): "listAgencyHealth",
    ("/v1/admin/agencies/{agency}/pause", "post"): "pauseAgency",
    ("/v1/admin/agencies/{agency}/resume", "post"): "resumeAgency",
    ("/metrics", "get"): "getMetrics",
}
SECURITY_SCHEMES: dict[str, Any] = {
    "agencyCertificate": {
        "type": "mutualTLS",
        "description": "Agencies: a client certificate issued by the CA in "
        "LIANXIN_TLS_CLIENT_CA, naming the agency (required only when that is set; "
        "docs/security.md). Their messages are signed besides: Standard Webhooks headers "
        "on /v1/inbound/{agency}, <lx:Signature> in the SOAP header on /soap/{agency}.",
    },
    "consoleSession": {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "The browser console's signed session cookie, set by its login "
        "form (/admin/login) from an API token. The console's pages are not in this "
        "document; API clients use `bearer`.",
    },
}
WEBHOOK_HEADERS = [
    {
        "name": "webhook-id",
        "in": "header",
        "required": True,
        "description": "the message's unique id (Standard Webhooks); a repeated id is "
        "acknowledged as `duplicate`, not applied again",
        "schema": {"type": "string", "maxLength": 200},
        "example": "msg_2Ku6Yb4tFzE0kqZr",
    },
    {
        "name": "webhook-timestamp",
        "in": "header",
        "required": True,
        "description": "Unix seconds when the agency signed; refused (401) outside the tolerance",
        "schema": {"type": "string", "pattern": "^[0-9]{1,12}$"},
        "example": "1795996322",
    },
    {
        "name": "webhook-signature",
        "in": "header",
        "required": True,
        "description": "space-separated `v1a,<base64 Ed25519>`, `v1,<base64 HMAC-SHA256>` "
        "or `v1sm3,<base64 HMAC-SM3>` over `{webhook-id}.{webhook-timestamp}.{body}`",
        "schema": {"type": "string", "maxLength": 4096},
        "example": "v1a,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
    },
    {
        "name": "webhook-key-id",
        "in": "header",
        "required": False,
        "description": "the key of each signature, in the same order (`v1a:1a2b3c4d`)",
        "schema": {"type": "string", "maxLength": 1000},
    },
]
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
            components = schema.setdefault("components", {})
            schemas = components.setdefault("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                schemas.pop(name, None)
            error = Error.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(error.pop("$defs", {}))
            schemas["Error"] = error
            components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
            for path, operations in schema.get("paths", {}).items():
                for method, operation in operations.items():
                    _document_refusals(operation, _refusals(path, method, operation))
                    _link(operation, LINKS.get((path, method)))
                    operation["operationId"] = OPERATION_IDS.get(
                        (path, method), operation.get("operationId")
                    )
                    if (path, method) in SIGNED:
                        operation["security"] = [{}, {"agencyCertificate": []}]
                    if path.startswith("/soap/"):
                        _soap(operation)
            if "/v1/inbound/{agency}" in schema["paths"]:
                _inbound(schema["paths"]["/v1/inbound/{agency}"]["post"])
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _link(operation: dict[str, Any], links: dict[str, Any] | None) -> None:
    if links is None:
        return
    for status in ("200", "202"):
        operation["responses"].setdefault(status, {"description": "accepted"})["links"] = links


def _refusals(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    """The refusals `operation` can really meet."""
    can = ["400", "405", "413", "422", "429", "431", "503"]
    if (path, method) in PUBLIC:
        can = ["405", "431"] + (["503"] if path == "/readyz" else [])
    elif "requestBody" not in operation and (path, method) not in SIGNED:
        can.remove("413")
    roles = [set(r.get("bearer", ())) for r in operation.get("security", ())]
    if (path, method) in SIGNED or any(r < EVERY_ROLE for r in roles):
        can += TOKEN_REFUSALS
    elif roles:  # every role may: a token is checked, no role is refused
        can.append("401")
    if (path, method) in CONFLICTS | SIGNED:
        can.append("409")
    if "{" in path or (path, method) in NOT_FOUND:
        can.append("404")
    return sorted(can)


def _document_refusals(operation: dict[str, Any], refusals: list[str]) -> None:
    responses = operation.setdefault("responses", {})
    for status in refusals:
        answer: dict[str, Any] = {
            "description": REFUSALS[status],
            "content": {"application/json": {"schema": ERROR_REF}},
        }
        if status in ("429", "503"):
            answer["headers"] = RETRY_AFTER
        known = responses.get(status)
        if known is None or status == "422":
            responses[status] = answer
        elif "content" not in known:  # described by the route, typed here
            known["content"] = answer["content"]
            known.setdefault("headers", answer.get("headers"))
            if known["headers"] is None:
                del known["headers"]


def _soap(operation: dict[str, Any]) -> None:
    """SOAP answers, the WSDL and every refusal alike, are text/xml."""
    for status, answer in operation["responses"].items():
        if status.startswith("2"):
            answer["content"] = {"text/xml": {"schema": {"type": "string"}}}
            answer["description"] = "the WSDL, or the SOAP response"
        else:
            answer["content"] = SOAP_FAULT


def _inbound(operation: dict[str, Any]) -> None:
    """The signature headers, examples and typed answers of an agency message."""
    operation.setdefault("parameters", []).extend(WEBHOOK_HEADERS)
    body = operation["requestBody"]["content"]["application/json"]
    body["examples"] = AGENCY_MESSAGES
