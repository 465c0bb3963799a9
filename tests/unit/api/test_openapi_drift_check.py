"""The drift check itself, on a small app with the gateway's OpenAPI treatment: an answer
that matches its documented model passes; one that drifts from it fails, whether in a
value's type, a missing or an extra field, the status code or the content type.
(tests/integration/api/test_openapi_drift.py runs the same checks on the real gateway.)"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse
from schemathesis.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import Failure, FailureGroup

from gateway.api import errors, openapi
from gateway.api.models import EventOutcome

CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance]
RIGHT = {"result": "applied", "order_id": "wo_1", "status": "supervised"}


def app_answering(status: int, answer: Any, text: bool = False) -> FastAPI:
    """An app whose one operation is documented with `EventOutcome` and the error body."""
    app = FastAPI()
    errors.install(app)
    openapi.install(app)

    @app.post(
        "/v1/work-orders/{order_id}/events",
        response_model=None,
        responses={200: {"model": EventOutcome}},
    )
    async def post_event(order_id: str) -> Any:
        if text:
            return PlainTextResponse(str(answer), status)
        return JSONResponse(answer, status)

    return app


def failures(app: FastAPI) -> str:
    """What the checks say about the operation's answer; '' when it conforms."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    case = schema["/v1/work-orders/{order_id}/events"]["POST"].Case(
        path_parameters={"order_id": "wo_1"}
    )
    response = case.call()
    try:
        case.validate_response(response, checks=CHECKS)
    except (Failure, FailureGroup) as failed:
        found = failed.exceptions if isinstance(failed, FailureGroup) else (failed,)
        return " | ".join(f.title for f in found)
    return ""


def test_an_answer_as_documented_passes() -> None:
    assert failures(app_answering(200, RIGHT)) == ""
    error = {"error": {"code": "unknown_order", "message": "no work order with id 'wo_1'"}}
    assert failures(app_answering(404, error)) == ""


@pytest.mark.parametrize(
    ("status", "answer", "says"),
    [
        (200, {**RIGHT, "result": "done"}, "schema"),  # a value the model does not allow
        (200, {"result": "applied", "order_id": "wo_1"}, "schema"),  # a field missing
        (200, {**RIGHT, "priority": 1}, "schema"),  # a field the model lacks
        (404, {"detail": "Not Found"}, "schema"),  # FastAPI's body, not the gateway's
        (422, {"detail": [{"loc": ["body"], "msg": "x"}]}, "schema"),
        (418, RIGHT, "status code"),  # a status the operation does not document
    ],
)
def test_an_answer_that_drifts_fails(status: int, answer: Any, says: str) -> None:
    assert says in failures(app_answering(status, answer)).lower()


def test_an_undocumented_content_type_fails() -> None:
    assert "content-type" in failures(app_answering(200, RIGHT, text=True)).lower()
