"""The OpenAPI drift test: every documented operation is called for real, authenticated,
and each live answer is checked against the published document with schemathesis'
conformance checks (status code, content type, response schema). A field added to an
answer without its model, a model promising what the answer lacks, an undocumented status
or content type: each fails here (and `test_a_broken_model_is_caught` shows the check
does fail on the live app).

The gateway runs for real (uvicorn on loopback, simulated agencies around it), on SQLite
and on PostgreSQL, with API tokens configured: nothing runs in the open development mode.
Then schemathesis generates a bounded number of requests per operation with the admin
token, under the same checks.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.schemas import BaseSchema

from gateway.api.examples import AGENCY_MESSAGES, HOTLINE_EVENTS, PAUSE, REPLAY, WORK_ORDERS
from tests.conftest import Stack
from tests.integration.api.helpers import signed_post, wait_until

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
ADMIN = "drift-admin-token-0123456789"
VIEWER = "drift-viewer-token-0123456789"
TOKENS = {
    "ops-li": {"role": "admin", "token": ADMIN},
    "watcher-wang": {"role": "viewer", "token": VIEWER},
}
EXAMPLES = 10


@dataclass
class Live:
    """The running gateway, its published document and an admin client."""

    stack: Stack
    schema: BaseSchema
    raw: dict[str, Any]
    client: httpx.Client


@pytest.fixture
def live(make_stack: Callable[..., Stack]) -> Iterator[Live]:
    # the viewer's small rate limit and the smallest header limit give a 429 and a 431
    stack = make_stack(api_tokens=TOKENS, rate_limits={"viewer": "3/minute"}, max_header_bytes=4096)
    raw = httpx.get(f"{stack.url}/openapi.json").json()
    headers = {"authorization": f"Bearer {ADMIN}"}
    with httpx.Client(base_url=stack.url, headers=headers, timeout=30) as client:
        yield Live(stack, schemathesis.openapi.from_dict(raw), raw, client)


def check(live: Live, response: httpx.Response, schema: BaseSchema | None = None) -> None:
    """`response` is an answer the document gives for its request's operation."""
    request = response.request
    path, method = _operation_of(live.raw, request.url.path, request.method.lower())
    operation = (schema or live.schema)[path][method.upper()]
    values = dict(zip(path.split("/"), request.url.path.split("/"), strict=True))
    parameters = {k.strip("{}"): v for k, v in values.items() if k.startswith("{")}
    operation.Case(path_parameters=parameters).validate_response(response, checks=CHECKS)


def _operation_of(raw: dict[str, Any], path: str, method: str) -> tuple[str, str]:
    for template, operations in raw["paths"].items():
        parts, wanted = template.strip("/").split("/"), path.strip("/").split("/")
        if (
            method in operations
            and len(parts) == len(wanted)
            and all(p == w or p.startswith("{") for p, w in zip(parts, wanted, strict=True))
        ):
            return template, method
    raise AssertionError(f"{method.upper()} {path} is not a documented operation")


@pytest.mark.slow
def test_every_documented_operation_answers_as_documented(live: Live) -> None:
    client, stack = live.client, live.stack
    answers: list[httpx.Response] = []

    def call(method: str, url: str, status: int, **kwargs: Any) -> httpx.Response:
        response = client.request(method, url, **kwargs)
        assert response.status_code == status, (method, url, response.text[:500])
        answers.append(response)
        return response

    # work orders: the Chinese examples of the document are accepted as they stand
    for example in WORK_ORDERS.values():
        call("POST", "/v1/work-orders", 202, json=example["value"])
    order = call("POST", "/v1/work-orders", 200, json=WORK_ORDERS["routed"]["value"]).json()
    order_id = order["id"]
    # tax-12366 receives the transfer and signs for it: the view has actions and handoffs
    wait_until(lambda: stack.agencies["tax-12366"].payloads, what="the transfer")
    signed = {
        "type": "status",
        "order_id": order_id,
        "status": "signed",
        "occurred_at": "2026-11-25T09:30:00+08:00",
        "agency_ref": "SW-000001",
    }
    answers.append(signed_post(client, "tax-12366", stack.agency_keys["tax-12366"], signed, "d1"))
    assert answers[-1].status_code == 200, answers[-1].text
    transfer = AGENCY_MESSAGES["transfer"]["value"]
    key = stack.agency_keys["city-management"]
    answers.append(signed_post(client, "city-management", key, transfer, "d2"))
    assert answers[-1].status_code == 201, answers[-1].text
    for example in HOTLINE_EVENTS.values():
        if example["value"]["type"] == "supervise":
            call("POST", f"/v1/work-orders/{order_id}/events", 200, json=example["value"])
    view = call("GET", f"/v1/work-orders/{order_id}", 200).json()
    assert view["assignments"][0]["actions"], "the view shows the agency's action"
    call("GET", f"/v1/work-orders/{order_id}/evidence", 200)

    # a dead letter to list and replay: city-management refuses the noise order for good
    stack.agencies["city-management"].fail_next, stack.agencies["city-management"].fail_status = (
        10,
        400,
    )
    noise = {**WORK_ORDERS["noise"]["value"], "flow_id": "GZ12345-20261124-000319"}
    call("POST", "/v1/work-orders", 202, json=noise)
    dead = wait_until(
        lambda: client.get("/v1/admin/deliveries").json()["total"], what="a dead letter"
    )
    assert dead >= 1
    call("GET", "/v1/admin/deliveries", 200, params={"agency": "city-management"})
    call("POST", "/v1/admin/replay", 200, json=REPLAY["dry_run"]["value"])
    replay = {"agency": "city-management", "dry_run": False}
    assert call("POST", "/v1/admin/replay", 200, json=replay).json()["replayed"] >= 1
    call("POST", "/v1/admin/replay/cancel", 200)
    call("GET", "/v1/admin/agencies", 200)
    call("POST", "/v1/admin/agencies/water-utility/pause", 200, json=PAUSE["maintenance"]["value"])
    call("POST", "/v1/admin/agencies/water-utility/resume", 200)

    # public, monitoring and SOAP
    call("GET", "/healthz", 200)
    call("GET", "/readyz", 200)
    call("GET", "/v1/keys", 200)
    call("GET", "/metrics", 200)
    call("GET", "/soap/police-110", 200, params={"wsdl": ""})
    answers.append(_soap_call(stack))

    # refusals, each with the error body
    call("POST", "/v1/work-orders", 401, json={}, headers={"authorization": "Bearer wrong"})
    call("POST", "/v1/work-orders", 403, json={}, headers={"authorization": f"Bearer {VIEWER}"})
    call("GET", "/v1/work-orders/wo_nothing", 404)
    stale = {**WORK_ORDERS["routed"]["value"], "revision": 2}
    call("POST", "/v1/work-orders", 202, json=stale)
    call("POST", "/v1/work-orders", 409, json=WORK_ORDERS["routed"]["value"])
    call("POST", "/v1/work-orders", 422, json={"flow_id": "GZ-x"})
    call("POST", "/v1/work-orders", 400, content=b"{not json", headers=_json())
    big = b"x" * (stack.settings.max_body_bytes + 1)
    call("POST", "/v1/work-orders", 413, content=big, headers=_json())
    call("GET", "/v1/admin/deliveries", 400, params={"state": "pending"})
    viewer = {"authorization": f"Bearer {VIEWER}"}
    watched = [client.get("/metrics", headers=viewer) for _ in range(4)][-1]
    assert watched.status_code == 429, watched.text
    answers.append(watched)
    call("GET", "/v1/keys", 431, headers={"x-padding": "x" * 5000})

    for response in answers:
        check(live, response)
    called = {
        _operation_of(live.raw, r.request.url.path, r.request.method.lower()) for r in answers
    }
    documented = {(p, m) for p, ops in live.raw["paths"].items() for m in ops}
    assert documented - called == set(), "every documented operation is called"


def _json() -> dict[str, str]:
    return {"content-type": "application/json"}


def _soap_call(stack: Stack) -> httpx.Response:
    """110 pushes a case as it would, through zeep; the raw HTTP answer it got."""
    from connectors.simulators.police110 import HOTLINE_WSDL
    from connectors.soap.connector import SignedSoapClient

    assert stack.police is not None
    seen: list[httpx.Response] = []

    async def push() -> None:
        client = SignedSoapClient(str(HOTLINE_WSDL), f"{stack.url}/soap/police-110", 10)

        post = client.transport.post

        async def keep(address: str, message: bytes | str, headers: dict[str, str]) -> Any:
            """Each POST's raw answer, as the httpx response the schema check reads."""
            answer = await post(address, message, headers)
            request = httpx.Request("POST", address, headers=headers, content=message)
            response = httpx.Response(
                answer.status, headers=dict(answer.headers), content=answer.content, request=request
            )
            response.elapsed = timedelta(0)  # read whole by the outbound client; not timed
            seen.append(response)
            return answer

        client.transport.post = keep  # type: ignore[method-assign]
        try:
            police = stack.police
            assert police is not None
            await client.call(
                "TransferIn",
                "jcj-drift-1",
                police._signer.headers,  # the simulator's own signing key
                {
                    "JJDBH": "J20261124000911",
                    "BJDH": "13811112222",
                    "BJDZ": "广州市天河区体育西路某工地",
                    "BJNR": "群众报警称工地夜间施工噪声扰民，经核实不属于警情，转12345处理。",
                    "BJSJ": datetime.now(UTC).isoformat(timespec="seconds"),
                    "JQLBDM": "9102",
                    "JQLBMC": "施工噪声",
                    "GXDWDM": "440106000000",
                    "GXDWMC": "天河分局",
                    "SFBM": "0",
                    "XZQHDM": "440106",
                },
            )
        finally:
            await client.aclose()

    asyncio.run(push())
    posted = [r for r in seen if r.request.method == "POST"]
    assert posted and posted[-1].status_code == 200, [r.status_code for r in seen]
    return posted[-1]


def test_a_broken_model_is_caught(live: Live) -> None:
    """The same check fails when the document and the live answer disagree: here the
    document is broken on purpose (`revision` a string; a required field the answer lacks)."""
    answer = live.client.post("/v1/work-orders", json=WORK_ORDERS["routed"]["value"])
    assert answer.status_code == 202
    check(live, answer)
    for breaks in (
        lambda accepted: accepted["properties"]["revision"].update(type="string"),
        lambda accepted: accepted["required"].append("priority"),
        _undocument_links,  # a field the answer has and the model lacks
    ):
        raw = copy.deepcopy(live.raw)
        breaks(raw["components"]["schemas"]["Accepted"])
        with pytest.raises((Failure, FailureGroup)) as failed:
            check(live, answer, schemathesis.openapi.from_dict(raw))
        assert "schema" in _text(failed.value).lower(), _text(failed.value)


def _undocument_links(accepted: dict[str, Any]) -> None:
    del accepted["properties"]["links"]
    accepted["required"].remove("links")


def test_an_undocumented_answer_is_caught(live: Live) -> None:
    """A status code or content type the document does not give fails too."""
    answer = live.client.get("/v1/work-orders/wo_nothing")
    assert answer.status_code == 404
    raw = copy.deepcopy(live.raw)
    del raw["paths"]["/v1/work-orders/{order_id}"]["get"]["responses"]["404"]
    with pytest.raises((Failure, FailureGroup)) as failed:
        check(live, answer, schemathesis.openapi.from_dict(raw))
    assert "status code" in _text(failed.value).lower(), _text(failed.value)
    raw = copy.deepcopy(live.raw)
    content = raw["paths"]["/v1/work-orders/{order_id}"]["get"]["responses"]["404"]["content"]
    content["application/problem+json"] = content.pop("application/json")
    with pytest.raises((Failure, FailureGroup)) as failed:
        check(live, answer, schemathesis.openapi.from_dict(raw))
    assert "content-type" in _text(failed.value).lower(), _text(failed.value)


def _text(error: BaseException) -> str:
    """Every failure's title and message, of a group or a single one."""
    failures = error.exceptions if isinstance(error, BaseExceptionGroup) else (error,)
    return " | ".join(f"{getattr(f, 'title', '')}: {f}" for f in failures)


@pytest.fixture
def authenticated_schema(live: Live) -> BaseSchema:
    return live.schema


fuzzed = schemathesis.pytest.from_fixture("authenticated_schema")


@pytest.mark.slow
@fuzzed.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_generated_requests_get_documented_answers(case: schemathesis.Case, live: Live) -> None:
    """Bounded generation per operation, with the admin token, under the same checks."""
    case.call_and_validate(
        base_url=live.stack.url,
        headers={"authorization": f"Bearer {ADMIN}"},
        checks=CHECKS,
        timeout=30,
    )
