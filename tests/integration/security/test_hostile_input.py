"""Hostile input on every endpoint: typed 4xx answers, never a 500, nothing stored."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.conftest import Stack
from tests.integration.api.helpers import order

JSON = {"content-type": "application/json"}


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


def test_deeply_nested_json_is_a_malformed_body(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack()
    deep = "[" * 50_000 + "]" * 50_000
    with httpx.Client(base_url=stack.url) as client:
        answer = client.post("/v1/work-orders", content=deep, headers=JSON)
        inbound = client.post("/v1/inbound/tax-12366", content=deep, headers=JSON)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "malformed_body"
    assert inbound.status_code == 401, "an unsigned body is refused before it is parsed"


@pytest.mark.parametrize("name", ["..", ".", "../../etc/passwd", "a\\b.pdf", "x\x00.pdf", "a\nb"])
def test_attachment_names_that_try_a_path_are_refused(
    make_stack: Callable[..., Stack], name: str
) -> None:
    stack = make_stack()
    attachment = {"name": name, "size": 1, "sha256": "0" * 64}
    with httpx.Client(base_url=stack.url) as client:
        answer = client.post("/v1/work-orders", json=order("H-1", attachments=[attachment]))
        stored = client.get("/v1/work-orders/none").status_code
    assert answer.status_code == 422, answer.text
    assert "attachments.0.name" in answer.text and stored == 404


def test_unknown_fields_are_refused_not_dropped(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack()
    with httpx.Client(base_url=stack.url) as client:
        answer = client.post("/v1/work-orders", json={**order("H-2"), "admin": True})
    assert answer.status_code == 422 and "admin" in answer.text


def test_every_endpoint_refuses_an_oversized_body(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack(max_body_bytes=4096)
    big = b"x" * 5000
    with httpx.Client(base_url=stack.url) as client:
        answers = {
            path: client.post(path, content=big, headers=JSON)
            for path in (
                "/v1/work-orders",
                "/v1/work-orders/wo_x/events",
                "/v1/inbound/tax-12366",
                "/soap/police-110",
            )
        }
    assert {path: a.status_code for path, a in answers.items()} == dict.fromkeys(answers, 413)
    assert b"payload_too_large" in answers["/soap/police-110"].content  # as a SOAP Fault


def test_huge_headers_are_refused_by_the_server(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack()
    with httpx.Client(base_url=stack.url) as client:
        answer = client.get("/healthz", headers={"x-junk": "a" * 200_000})
    assert answer.status_code == 431 and answer.json()["error"]["code"] == "headers_too_large"
