"""A vendor's view: a Python client generated from the published OpenAPI with
openapi-python-client talks to a live gateway and gets typed answers and typed errors.

The client is generated from the running gateway's `/openapi.json` into a temporary
directory (about 5 s), as docs/api.md tells vendors to.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from gateway.api.examples import HOTLINE_EVENTS, WORK_ORDERS
from tests.conftest import Stack

TOKEN = "generated-client-token-0123456789"


@pytest.fixture
def stack(make_stack: Callable[..., Stack]) -> Stack:
    return make_stack(api_tokens={"gz-12345": {"role": "hotline", "token": TOKEN}})


@pytest.fixture
def client_package(stack: Stack, tmp_path: Path) -> Iterator[str]:
    """Generate `lianxin_client` from the live document; its import path while the test runs."""
    document = tmp_path / "lianxin-openapi.json"
    document.write_bytes(httpx.get(f"{stack.url}/openapi.json").content)
    config = tmp_path / "config.yaml"
    config.write_text(
        "project_name_override: lianxin-client\npackage_name_override: lianxin_client\n"
    )
    bin_dir = Path(sys.executable).parent
    generated = subprocess.run(
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            "--path",
            str(document),
            "--config",
            str(config),
            "--output-path",
            str(tmp_path / "client"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
        check=False,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "Warning" not in generated.stdout + generated.stderr, generated.stdout
    sys.path.insert(0, str(tmp_path / "client"))
    try:
        yield "lianxin_client"
    finally:
        sys.path.remove(str(tmp_path / "client"))
        for name in [n for n in sys.modules if n.split(".")[0] == "lianxin_client"]:
            del sys.modules[name]


def module(package: str, name: str) -> ModuleType:
    return importlib.import_module(f"{package}.{name}")


def test_a_generated_client_gets_typed_answers_and_errors(
    stack: Stack, client_package: str
) -> None:
    models: Any = module(client_package, "models")
    client = module(client_package, "client").AuthenticatedClient(base_url=stack.url, token=TOKEN)
    submit = module(client_package, "api.work_orders.submit_work_order")
    get = module(client_package, "api.work_orders.get_work_order")
    event = module(client_package, "api.work_orders.post_hotline_event")

    order = models.WorkOrderIn.from_dict(WORK_ORDERS["routed"]["value"])
    accepted = submit.sync_detailed(client=client, body=order)
    assert accepted.status_code == 202
    assert isinstance(accepted.parsed, models.Accepted)
    assert accepted.parsed.lead_agency == "tax-12366"

    view = get.sync(accepted.parsed.id, client=client)
    assert isinstance(view, models.OrderView)
    assert view.work_order.title == "个税专项附加扣除如何填报"
    assert view.timeline[0].event == "received"

    # a refusal comes back as the typed Error, not an untyped dict: a 回访 before any reply
    revisit = models.HotlineEvent.from_dict(HOTLINE_EVENTS["revisit"]["value"])
    refused = event.sync_detailed(accepted.parsed.id, client=client, body=revisit)
    assert refused.status_code == 409
    assert isinstance(refused.parsed, models.Error)
    assert refused.parsed.error.code == "illegal_transition"

    missing = get.sync("wo_none", client=client)
    assert isinstance(missing, models.Error) and missing.error.code == "unknown_order"
    stranger = module(client_package, "client").AuthenticatedClient(
        base_url=stack.url, token="not-a-token"
    )
    refused_token = get.sync("wo_none", client=stranger)
    assert isinstance(refused_token, models.Error)
    assert refused_token.error.code == "unauthorized"
