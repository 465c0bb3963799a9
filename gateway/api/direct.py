"""Hot routes answered without FastAPI's per-request dependency solving.

FastAPI resolves a route's `Depends(...)` tree and validates its body on every request
(`solve_dependencies`): for `POST /v1/work-orders` that was about half of the HTTP side's
CPU (bench/hot_path.py `api`: ~150 -> ~75 µs an order without it). A `DirectRoute` keeps
the route exactly as declared (its signature, dependencies and body model still make the
OpenAPI document) but first offers each request to a `direct` handler written for that
route: it resolves the same dependencies by plain calls and validates a JSON body once,
from its bytes (`model_validate_json`, no `json.loads` + `validate_python`). A request the
handler does not take (it answers None: a body that is not plain JSON or does not
validate) goes the standard FastAPI way, so every refusal keeps its exact status, order
and body. The agency routes answer directly too: their one parameter, the agency's name,
is any string.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

DirectHandler = Callable[[Request], Awaitable[Response | None]]
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])

_HANDLERS: dict[Callable[..., Any], DirectHandler] = {}
#: the Content-Type values read as JSON here; FastAPI reads any application/json or
#: application/*+json, and other spellings go its way (same answer, standard speed)
PLAIN_JSON = frozenset({b"application/json", b"application/json; charset=utf-8"})
Model = TypeVar("Model", bound=BaseModel)


def direct(handler: DirectHandler) -> Callable[[Endpoint], Endpoint]:
    """Mark an endpoint as answered by `handler` when its route is a `DirectRoute`."""

    def mark(endpoint: Endpoint) -> Endpoint:
        _HANDLERS[endpoint] = handler
        return endpoint

    return mark


class DirectRoute(APIRoute):
    """An APIRoute whose endpoint's direct handler answers first (see the module doc)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        standard = super().get_route_handler()
        handler = _HANDLERS.get(self.endpoint)
        if handler is None:
            return standard
        answer = handler  # bound here: mypy sees it as not None below

        async def route(request: Request) -> Response:
            response = await answer(request)
            return response if response is not None else await standard(request)

        return route


async def json_body(request: Request, model: type[Model]) -> Model | None:
    """The body validated as `model` straight from its bytes, or None when FastAPI should
    answer it (not plainly JSON, empty, malformed or invalid: its own errors, its order)."""
    if _content_type(request.scope["headers"]) not in PLAIN_JSON:
        return None
    body = await request.body()
    if not body:
        return None
    try:
        return model.model_validate_json(body)
    except ValidationError:
        return None


def _content_type(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    """The first Content-Type, lower-cased (what FastAPI's `request.headers.get` reads)."""
    for name, value in headers:
        if len(name) == 12 and name.lower() == b"content-type":
            return value.strip().lower()
    return None
