"""schemathesis against the published OpenAPI, on SQLite and on PostgreSQL: no generated
request gets a 5xx, and every answer is one the OpenAPI documents (status code, content type
and body schema).

The gateway runs for real (uvicorn on loopback, simulators around it). Every operation gets
a bounded number of Hypothesis examples, valid and invalid (schemathesis' positive and
negative generation, its examples, coverage and fuzzing phases), and a bounded stateful run
follows the OpenAPI links between operations, so each database's run stays well under two
minutes on two cores.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.schemas import BaseSchema

from tests.conftest import Stack

pytestmark = [  # the store is the subject: SQLite and PostgreSQL; minutes: not in the fast tier
    pytest.mark.both_databases,
    pytest.mark.slow,
]

EXAMPLES = 25
STATEFUL_RUNS = 15
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def api_schema(make_stack: Callable[..., Stack]) -> BaseSchema:
    stack = make_stack()
    return schemathesis.openapi.from_url(f"{stack.url}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error_or_an_undocumented_answer(
    case: schemathesis.Case,
) -> None:
    case.call_and_validate(checks=CHECKS)


def test_stateful_sequences_get_no_server_error_or_undocumented_answer(
    api_schema: BaseSchema,
) -> None:
    machine = api_schema.as_state_machine()

    class Bounded(machine):  # type: ignore[misc,valid-type]
        def validate_response(self, response, case, **kwargs):  # type: ignore[no-untyped-def]
            case.validate_response(response, checks=CHECKS)

    run_state_machine_as_test(
        Bounded,
        settings=settings(
            max_examples=STATEFUL_RUNS,
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
