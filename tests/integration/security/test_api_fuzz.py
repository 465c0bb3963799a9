"""schemathesis against the published OpenAPI: no generated request gets a 5xx.

The gateway runs for real (uvicorn on loopback, SQLite, simulators around it) and each
operation gets a bounded number of Hypothesis examples, valid and invalid, so the run stays
within seconds on two cores.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.conftest import Stack

EXAMPLES = 25


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """SQLite only: the point here is the HTTP layer, not the database."""
    return sqlite_url


@pytest.fixture
def api_schema(make_stack: Callable[..., Stack]) -> object:
    stack = make_stack()
    return schemathesis.openapi.from_url(f"{stack.url}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_gets_a_server_error(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=[not_a_server_error])
