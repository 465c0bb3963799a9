"""Closed by default: `lianxin serve` needs API tokens, or --open-api on a loopback host only;
an app built without tokens and without open_api refuses every API call."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.conftest import Stack


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """SQLite only: the point is the token check, not the database."""
    return sqlite_url


def serve(tmp_path: Path, *flags: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("LIANXIN_")
    }
    environment |= {"LIANXIN_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", **env}
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", "serve", "--port", "1", *flags],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=environment,
    )


@pytest.mark.slow
def test_serve_without_tokens_is_refused(tmp_path: Path) -> None:
    result = serve(tmp_path)
    assert result.returncode == 2
    assert "LIANXIN_API_TOKENS is not set" in result.stderr and "--open-api" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_the_open_api_flag_is_refused_on_a_non_loopback_host(tmp_path: Path) -> None:
    for flags, env in (
        (("--open-api", "--host", "0.0.0.0"), {}),
        (("--host", "192.0.2.10"), {"LIANXIN_OPEN_API": "true"}),
    ):
        result = serve(tmp_path, *flags, **env)
        assert result.returncode == 2, flags
        assert "loopback host only" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_the_open_api_flag_on_loopback_goes_on_to_start(tmp_path: Path) -> None:
    result = serve(tmp_path, "--open-api", "--host", "127.0.0.1")
    assert "LIANXIN_API_TOKENS" not in result.stderr
    assert "LIANXIN_HOTLINE_CALLBACK_URL" in result.stderr, "it got past the token check"


def test_an_app_without_tokens_or_open_api_refuses_every_api_call(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack(open_api=False)
    with httpx.Client(base_url=stack.url) as client:
        for method, path in (
            ("GET", "/v1/work-orders/wo_1"),
            ("POST", "/v1/work-orders"),
            ("GET", "/metrics"),
            ("POST", "/v1/admin/replay"),
        ):
            response = client.request(method, path, json={})
            assert response.status_code == 401, (method, path, response.text)
            assert response.json()["error"]["code"] == "unauthorized"
        assert client.get("/healthz").status_code == 200
