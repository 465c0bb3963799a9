"""Which start-up connection errors are worth waiting for (gateway/store/startup.py)."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from gateway.store.startup import _not_yet_reachable

SERVER = 'connection to server at "10.0.0.5", port 5432 failed: '


def failed(message: str) -> OperationalError:
    return OperationalError("connect", {}, Exception(f"connection failed: {SERVER}{message}"))


@pytest.mark.parametrize(
    "message",
    [
        "Connection refused",
        "timeout expired",
        "FATAL:  the database system is starting up",
        "FATAL:  the database system is not yet accepting connections",
    ],
)
def test_a_database_not_up_yet_is_tried_again(message: str) -> None:
    assert _not_yet_reachable(failed(message))


@pytest.mark.parametrize(
    "message",
    [
        'FATAL:  password authentication failed for user "lianxin"',
        'FATAL:  database "lianxin" does not exist',
    ],
)
def test_a_server_that_refuses_us_is_not_tried_again(message: str) -> None:
    assert not _not_yet_reachable(failed(message))


def test_errors_other_than_the_connections_are_not_tried_again() -> None:
    assert not _not_yet_reachable(ValueError("Connection refused"))
