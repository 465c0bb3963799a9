"""What an HTTP answer or a failed exchange means for a delivery: the one mapping.

REST, SOAP and portals all read answers through here. Transient: connection errors,
timeouts, oversized or dripping answers, 5xx, 408, 409, 425, 429. Permanent: every other
4xx; 410 also disables the endpoint. Only an agency that asks us to slow down is
*throttled* (the retry policy's floor): a 429, or a 503 with Retry-After. A timeout is not
such a request: a dead connection or a slow network says nothing about the agency's load.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from gateway.domain.errors import DeliveryError, PermanentDelivery, TransientDelivery

if TYPE_CHECKING:  # the client raises the errors made here: a type only, no cycle
    from connectors.http.client import Answer

RETRYABLE_4XX = frozenset({408, 409, 425, 429})


def answer_error(status: int, headers: Mapping[str, str], text: str) -> DeliveryError | None:
    """None for a 2xx; otherwise the typed delivery error the answer stands for."""
    if 200 <= status < 300:
        return None
    message = f"HTTP {status}: {text[:200]}"
    if status >= 500 or status in RETRYABLE_4XX:
        wait = retry_after(headers.get("retry-after"))
        slow_down = status == 429 or (status == 503 and wait is not None)
        return TransientDelivery(message, status_code=status, throttled=slow_down, retry_after=wait)
    return PermanentDelivery(message, status_code=status, disable=status == 410)


def checked(answer: Answer) -> Answer:
    """A 2xx answer as it is; for any other, the typed delivery error it stands for is
    raised. The body is decoded only to explain a refusal."""
    if not 200 <= answer.status < 300:
        error = answer_error(answer.status, answer.headers, answer.text)
        if error is not None:
            raise error
    return answer


def retry_after(value: str | None) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date), if valid."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class Unanswered(TransientDelivery):
    """The connection closed after the request went out and before any byte of an answer."""


def timed_out(seconds: float, what: str = "no complete answer") -> TransientDelivery:
    """A call cut at its deadline: retried on the schedule, never throttled."""
    return TransientDelivery(f"{what} within {seconds:g} s")


def exchange_failed(error: BaseException) -> TransientDelivery:
    """A connection that could not be made or broke (refused, reset, TLS, proxy)."""
    return TransientDelivery(f"{type(error).__name__}: {error}")


def too_large(limit: int) -> TransientDelivery:
    """An answer over the agency's size cap: cut there, retried."""
    return TransientDelivery(f"answer over the {limit}-byte limit: cut")
