"""Domain errors → HTTP responses, in one place: every refusal is a typed 4xx body."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from gateway.domain.errors import LianxinError, StoreUnavailable

log = logging.getLogger("lianxin.api")


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The one shape of every error response."""
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return {"error": body}


async def _lianxin_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LianxinError)
    if exc.http_status >= 500:
        log.error("%s: %s", exc.code, exc.message)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, StoreUnavailable) else None
    body = error_body(exc.code, exc.message, exc.details)
    return JSONResponse(body, exc.http_status, headers=headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": ".".join(str(p) for p in e.get("loc", ())), "msg": e.get("msg", "")}
        for e in exc.errors()
    ][:20]
    if any(e.get("type") == "json_invalid" for e in exc.errors()):
        return JSONResponse(error_body("malformed_json", "the body is not valid JSON", errors), 400)
    return JSONResponse(
        error_body("validation_error", "the body does not match the schema", errors), 422
    )


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    codes = {400: "malformed_body", 404: "not_found", 405: "method_not_allowed"}
    code = codes.get(exc.status_code, "http_error")
    return JSONResponse(error_body(code, str(exc.detail)), exc.status_code, headers=exc.headers)


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    """A bug, not a refusal: still a typed JSON answer, never a dropped connection."""
    log.error("unexpected %s", type(exc).__name__, exc_info=exc)
    return JSONResponse(error_body("internal_error", "the gateway failed; see its log"), 500)


def install(app: FastAPI) -> None:
    """Register the handlers on `app`."""
    app.add_exception_handler(Exception, _unexpected)
    app.add_exception_handler(LianxinError, _lianxin_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
