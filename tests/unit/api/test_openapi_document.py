"""The published OpenAPI document, read without a running gateway: valid OpenAPI 3.1, a
typed schema for every 2xx answer, the gateway's error body on every refusal, security on
every operation that takes a token, and Chinese examples that the request models accept.

Whether the live answers match the document is `tests/integration/api/test_openapi_drift.py`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from openapi_spec_validator import validate
from pydantic import TypeAdapter

from gateway.api import examples
from gateway.api.app import create_app
from gateway.api.auth import Principal, Role, allow
from gateway.api.routers.admin import PauseRequest, ReplayRequest
from gateway.domain.messages import HotlineEvent
from gateway.domain.workorder import WorkOrderIn
from gateway.service.orders.status_sync import AgencyMessage
from gateway.settings import Settings

Viewer = Annotated[Principal, Depends(allow(Role.viewer))]
ERROR_REF = {"$ref": "#/components/schemas/Error"}
TOKEN_OPERATIONS = {
    ("/v1/work-orders", "post"),
    ("/v1/work-orders/{order_id}", "get"),
    ("/v1/work-orders/{order_id}/events", "post"),
    ("/v1/work-orders/{order_id}/evidence", "get"),
    ("/v1/admin/deliveries", "get"),
    ("/v1/admin/replay", "post"),
    ("/v1/admin/replay/cancel", "post"),
    ("/v1/admin/agencies", "get"),
    ("/v1/admin/agencies/{agency}/pause", "post"),
    ("/v1/admin/agencies/{agency}/resume", "post"),
    ("/metrics", "get"),
}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    settings = Settings(database_url="sqlite:///:memory:", api_tokens={})
    return create_app(settings).openapi()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)  # raises on an invalid document


def test_every_2xx_answer_has_a_typed_schema(document: dict[str, Any]) -> None:
    untyped = []
    for path, method, operation in operations(document):
        answers = {s: a for s, a in operation["responses"].items() if s.startswith("2")}
        assert answers, f"{method} {path} documents no success"
        for status, answer in answers.items():
            for media_type, content in answer.get("content", {}).items():
                schema = resolve(document, content.get("schema", {}))
                if media_type == "application/json":
                    typed = schema.get("additionalProperties") is False or (
                        schema.get("type") == "array" and "$ref" in schema.get("items", {})
                    )
                else:  # text/xml, the Prometheus text format
                    typed = schema.get("type") == "string"
                if not typed:
                    untyped.append(f"{method.upper()} {path} {status} {media_type}: {schema}")
    assert untyped == []


def test_every_refusal_carries_the_error_body(document: dict[str, Any]) -> None:
    wrong = []
    for path, method, operation in operations(document):
        for status, answer in operation["responses"].items():
            if not status.startswith(("4", "5")) or (path == "/readyz" and status == "503"):
                continue
            content = answer.get("content", {})
            media = "text/xml" if path.startswith("/soap/") else "application/json"
            schema = content.get(media, {}).get("schema")
            expected = {"type": "string", "description": "a SOAP 1.1 Fault"}
            if schema != (expected if media == "text/xml" else ERROR_REF) or len(content) != 1:
                wrong.append(f"{method.upper()} {path} {status}: {content}")
    assert wrong == []
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    error = schemas["Error"]
    assert error["required"] == ["error"]
    assert resolve(document, error["properties"]["error"])["required"] == ["code", "message"]


def test_refusals_are_the_ones_each_operation_can_meet(document: dict[str, Any]) -> None:
    answers = {(p, m): set(o["responses"]) for p, m, o in operations(document)}
    assert answers[("/healthz", "get")] == {"200", "405", "431"}
    assert answers[("/v1/keys", "get")] == {"200", "405", "431"}
    assert {"401", "403", "409", "413"} <= answers[("/v1/work-orders", "post")]
    assert "409" not in answers[("/v1/admin/agencies", "get")]
    assert "413" not in answers[("/v1/work-orders/{order_id}", "get")]
    assert "404" not in answers[("/metrics", "get")]
    for path, method in TOKEN_OPERATIONS:
        assert "401" in answers[(path, method)], (path, method)
        every_role = (path, method) == ("/v1/work-orders/{order_id}", "get")
        assert ("403" in answers[(path, method)]) != every_role, (path, method)
    for status in ("429", "503"):
        headers = document["paths"]["/v1/work-orders"]["post"]["responses"][status]["headers"]
        assert "Retry-After" in headers


def test_operations_that_take_a_token_say_so(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["bearer"]["description"],
    }
    assert schemes["agencyCertificate"]["type"] == "mutualTLS"
    assert schemes["consoleSession"] == {**schemes["consoleSession"], "in": "cookie"}
    secured = {
        (p, m): sorted(o["security"][0]["bearer"])
        for p, m, o in operations(document)
        if "bearer" in o.get("security", [{}])[0]
    }
    assert set(secured) == TOKEN_OPERATIONS
    assert secured[("/v1/work-orders", "post")] == ["admin", "hotline"]
    assert secured[("/v1/admin/replay", "post")] == ["admin", "operator"]
    assert secured[("/metrics", "get")] == ["admin", "operator", "viewer"]
    inbound = document["paths"]["/v1/inbound/{agency}"]["post"]
    assert inbound["security"] == [{}, {"agencyCertificate": []}]
    headers = {p["name"]: p["required"] for p in inbound["parameters"] if p["in"] == "header"}
    assert headers == {
        "webhook-id": True,
        "webhook-timestamp": True,
        "webhook-signature": True,
        "webhook-key-id": False,
    }
    public = [("/healthz", "get"), ("/readyz", "get"), ("/v1/keys", "get")]
    assert all("security" not in document["paths"][p][m] for p, m in public)


def test_the_bearer_scheme_follows_the_dependency() -> None:
    """An operation gets `security` from its `allow(...)` dependency, not from a list."""
    app = FastAPI()

    @app.get("/guarded")
    async def guarded(_who: Viewer) -> None: ...

    @app.get("/open")
    async def open_() -> None: ...

    paths = app.openapi()["paths"]
    assert paths["/guarded"]["get"]["security"] == [{"bearer": ["admin", "viewer"]}]
    assert "security" not in paths["/open"]["get"]


HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("WORK_ORDERS", TypeAdapter(WorkOrderIn)),
        ("HOTLINE_EVENTS", TypeAdapter(HotlineEvent)),
        ("REPLAY", TypeAdapter(ReplayRequest)),
        ("PAUSE", TypeAdapter(PauseRequest)),
        ("AGENCY_MESSAGES", AgencyMessage),
    ],
)
def test_the_chinese_examples_are_valid_requests(name: str, model: TypeAdapter[Any]) -> None:
    shown = getattr(examples, name)
    assert shown
    for example in shown.values():
        model.validate_python(example["value"])  # raises on an invalid example
        assert HAN.search(example["summary"]), example["summary"]


def test_request_bodies_and_main_answers_show_examples(document: dict[str, Any]) -> None:
    paths = document["paths"]
    for path, method in [
        ("/v1/work-orders", "post"),
        ("/v1/work-orders/{order_id}/events", "post"),
        ("/v1/inbound/{agency}", "post"),
        ("/v1/admin/replay", "post"),
    ]:
        shown = paths[path][method]["requestBody"]["content"]["application/json"]["examples"]
        assert all(HAN.search(e["summary"]) for e in shown.values()), path
        if path != "/v1/admin/replay":  # ids and times only
            assert any(HAN.search(str(e["value"])) for e in shown.values()), path
    schemas = document["components"]["schemas"]
    for name in ("Accepted", "OrderView", "EventOutcome", "Error", "AgencyStateView"):
        assert schemas[name]["examples"], name
    assert HAN.search(str(schemas["OrderView"]["examples"]))


def test_the_answer_examples_match_their_models() -> None:
    from gateway.api import models

    shown = 0
    for model in vars(models).values():
        if isinstance(model, type) and issubclass(model, models.Answer):
            for example in (model.model_config.get("json_schema_extra") or {}).get("examples", []):
                model.model_validate(example)  # raises when an example drifts from its model
                shown += 1
    assert shown >= 6


def test_every_operation_has_a_short_unique_id(document: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[a-z][A-Za-z]{5,30}", i) for i in ids), ids
