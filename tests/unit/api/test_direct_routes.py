"""The routes answered directly (gateway/api/direct.py) answer exactly as the standard
FastAPI route over the same endpoint: `POST /v1/work-orders` with the same status, headers
and body, and the same order handed to intake, for valid orders, broken JSON, odd content
types, invalid fields and every token case; the agency routes for every outcome. Run in
process over ASGI, with the service stubbed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.utils import solve_dependencies
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.api import errors
from gateway.api.app import create_app
from gateway.api.auth import TokenBook
from gateway.api.examples import WORK_ORDERS
from gateway.api.routers import inbound, soap, work_orders
from gateway.domain.errors import LianxinError, Unauthorized
from gateway.domain.states import Status
from gateway.domain.workorder import WorkOrder, WorkOrderIn
from gateway.service.orders.intake import IntakeResult
from gateway.service.ports.transport import Outcome
from gateway.settings import Settings

TOKENS = {"hotline": "h" * 32, "viewer": "v" * 32}
VALID = [example["value"] for example in WORK_ORDERS.values()]


@dataclass
class RecordingIntake:
    """Answers every order as stored, and keeps what it was handed."""

    seen: list[WorkOrderIn] = field(default_factory=list)

    async def submit(self, order: WorkOrderIn) -> IntakeResult:
        self.seen.append(order)
        stored = WorkOrder(id="wo_1", **order.model_dump())
        return IntakeResult(stored, created=True, handoff_ids=("h_1",))


@dataclass
class ScriptedInbox:
    """Answers agency messages and SOAP calls with the next scripted outcome or error."""

    script: list[Outcome | LianxinError] = field(default_factory=list)

    async def receive(self, agency: str, headers: Any, body: bytes, caller: Any) -> Outcome:
        return self._next()

    async def handle(self, agency: str, body: bytes, caller: Any) -> SimpleNamespace:
        outcome = self._next()
        return SimpleNamespace(status=503 if outcome.result == "busy" else 200, content=body)

    def _next(self) -> Outcome:
        step = self.script.pop(0)
        if isinstance(step, LianxinError):
            raise step
        return step


@dataclass
class FakeGateway:
    intake: RecordingIntake = field(default_factory=RecordingIntake)
    sync: ScriptedInbox = field(default_factory=ScriptedInbox)
    soap: ScriptedInbox = field(default_factory=ScriptedInbox)
    settings: SimpleNamespace = field(default_factory=lambda: SimpleNamespace(tls_client_ca=None))
    directory: SimpleNamespace = field(default_factory=lambda: SimpleNamespace(profiles={}))
    tracer_provider: None = None


def _settings() -> Settings:
    tokens = {role: {"role": role, "token": token} for role, token in TOKENS.items()}
    limits = dict.fromkeys(("anonymous", "hotline", "viewer", "admin"), "none")
    return Settings(api_tokens=tokens, rate_limits=limits)


def _direct_app() -> FastAPI:
    """The real app: its work-order route answers directly."""
    app = create_app(_settings(), gateway=FakeGateway())  # type: ignore[arg-type]
    app.state.gateway = FakeGateway()
    return app


def _standard_app() -> FastAPI:
    """The same endpoint on a plain FastAPI route, with the same error handlers."""
    app = FastAPI()
    app.state.tokens = TokenBook(_settings())
    app.state.gateway = FakeGateway()
    errors.install(app)
    app.router.add_api_route(
        "/v1/work-orders",
        work_orders.submit,
        methods=["POST"],
        status_code=202,
        response_model=None,
    )
    app.router.add_api_route("/v1/inbound/{agency}", inbound.receive, methods=["POST"])
    app.router.add_api_route("/soap/{agency}", soap.call, methods=["POST"])
    return app


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    handed: list[dict[str, Any]]


def _post(
    app: FastAPI, body: bytes, headers: dict[str, str], path: str = "/v1/work-orders"
) -> Answer:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            return await client.post(path, content=body, headers=headers)

    seen = app.state.gateway.intake.seen
    seen.clear()
    response = asyncio.run(go())
    handed = [order.model_dump(mode="json") for order in seen]
    return Answer(response.status_code, sorted(response.headers.items()), response.content, handed)


@pytest.fixture(scope="module")
def apps() -> Iterator[tuple[FastAPI, FastAPI]]:
    yield _direct_app(), _standard_app()


def _same(apps: tuple[FastAPI, FastAPI], body: bytes, headers: dict[str, str]) -> Answer:
    direct, standard = (_post(app, body, headers) for app in apps)
    assert direct == standard, body
    return direct


def _encoded(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


HOTLINE = {"authorization": f"Bearer {TOKENS['hotline']}", "content-type": "application/json"}
ODD_BODIES = [
    b"",
    b"{",
    b"[]",
    b"null",
    b'"text"',
    _encoded(VALID[0]) + b" trailing",
    b"\xef\xbb\xbf" + _encoded(VALID[0]),  # a UTF-8 byte order mark
    json.dumps(VALID[0]).encode("utf-16"),
    _encoded(VALID[0])[:-1] + b',"title":"again"}',  # a repeated key: the last one counts
    _encoded({**VALID[0], "title": "LONE"}).replace(b"LONE", b"\\ud800"),  # a lone surrogate
    _encoded({**VALID[0], "title": "PAIR"}).replace(b"PAIR", b"\\ud83d\\ude00"),
    _encoded({**VALID[0], "location": {**VALID[0]["location"], "coordinates": None}}),
    _encoded(VALID[0])[:-1] + b',"revision":NaN}',
    _encoded(VALID[0])[:-1] + b',"revision":1e400}',
    _encoded(VALID[0])[:-1] + b',"revision":2.0}',
    _encoded(VALID[0])[:-1] + b',"revision":true}',
    _encoded(VALID[0])[:-1] + b',"revision":"3"}',
    _encoded(VALID[0])[:-1] + b',"revision":99999999999999999999999}',
    _encoded({k: v for k, v in VALID[0].items() if k != "title"}),
    _encoded({**VALID[0], "unknown": 1}),
    _encoded({**VALID[0], "received_at": 1795996322}),
    _encoded({**VALID[0], "title": "  padded  "}),
    b"[" * 5000 + b"]" * 5000,
]


@pytest.mark.parametrize("body", VALID, ids=list(WORK_ORDERS))
def test_a_valid_order_gets_the_same_answer_and_the_same_order(
    apps: tuple[FastAPI, FastAPI], body: dict[str, Any]
) -> None:
    answer = _same(apps, _encoded(body), HOTLINE)
    assert answer.status == 202 and len(answer.handed) == 1


@pytest.mark.parametrize("body", ODD_BODIES, ids=range(len(ODD_BODIES)))
def test_an_odd_body_gets_the_same_answer(apps: tuple[FastAPI, FastAPI], body: bytes) -> None:
    _same(apps, body, HOTLINE)


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "application/json",
        "Application/JSON",
        "application/json; charset=utf-8",
        "application/json;charset=latin-1",
        "application/merge-patch+json",
        "application/json garbage",
        "text/plain",
        "multipart/form-data",
    ],
)
def test_every_content_type_gets_the_same_answer(
    apps: tuple[FastAPI, FastAPI], content_type: str | None
) -> None:
    headers = {"authorization": HOTLINE["authorization"]}
    if content_type is not None:
        headers["content-type"] = content_type
    for body in (_encoded(VALID[0]), b"{"):
        _same(apps, body, headers)


@pytest.mark.parametrize("token", [None, "", "wrong", TOKENS["viewer"], TOKENS["hotline"]])
@pytest.mark.parametrize(
    "body", [_encoded(VALID[0]), b"{", _encoded({"title": 1})], ids=["valid", "broken", "invalid"]
)
def test_every_token_case_gets_the_same_answer_in_the_same_order(
    apps: tuple[FastAPI, FastAPI], token: str | None, body: bytes
) -> None:
    headers = {"content-type": "application/json"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    _same(apps, body, headers)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(example=st.sampled_from(VALID), key=st.text(max_size=12), value=JSON_VALUES, data=st.data())
def test_a_changed_field_gets_the_same_answer(
    example: dict[str, Any], key: str, value: Any, data: st.DataObject
) -> None:
    apps = (_direct_app(), _standard_app())
    key = data.draw(st.sampled_from([key, *WorkOrderIn.model_fields]))
    body = json.dumps({**example, key: value}, ensure_ascii=False, allow_nan=True).encode()
    _same(apps, body, HOTLINE)


def test_a_valid_order_skips_dependency_solving_and_an_invalid_one_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    solved = []

    async def counted(*args: Any, **kwargs: Any) -> Any:
        solved.append(1)
        return await solve_dependencies(*args, **kwargs)

    monkeypatch.setattr("fastapi.routing.solve_dependencies", counted)
    app = _direct_app()
    assert _post(app, _encoded(VALID[0]), HOTLINE).status == 202
    assert solved == []
    assert _post(app, _encoded({**VALID[0], "title": ""}), HOTLINE).status == 422
    assert solved == [1]
    app.state.gateway.sync.script = [Outcome("applied")]
    assert _post(app, b"{}", {}, "/v1/inbound/fire-119").status == 200
    assert solved == [1]


AGENCY_SCRIPT: list[Outcome | LianxinError] = [
    Outcome("created", "wo_1", Status.received),
    Outcome("applied", "wo_中", "accepted"),
    Outcome("duplicate"),
    Outcome("busy"),
    Unauthorized("no valid signature"),
]


@pytest.mark.parametrize("path", ["/v1/inbound/fire-119", "/soap/fire-119"])
def test_the_agency_routes_give_the_same_answer_for_every_outcome(path: str) -> None:
    apps = (_direct_app(), _standard_app())
    for app in apps:
        app.state.gateway.sync.script = list(AGENCY_SCRIPT)
        app.state.gateway.soap.script = list(AGENCY_SCRIPT)
    headers = {"content-type": "application/json"}
    for _ in AGENCY_SCRIPT:
        direct, standard = (_post(app, b'{"a": 1}', headers, path) for app in apps)
        assert direct == standard
