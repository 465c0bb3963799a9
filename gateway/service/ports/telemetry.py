"""Telemetry ports: spans and trace-context headers, and the dispatcher's attempt metrics.

`gateway.tracing` fills `Tracing` with OpenTelemetry when LIANXIN_TRACING is on;
`gateway.metrics` fills `Metrics` with Prometheus. `gateway.service.tracing` has the
do-nothing defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Protocol

Attributes = Mapping[str, str | int | float | bool]


class Tracing(Protocol):
    """Opens spans and writes the current trace context into outgoing headers."""

    #: whether spans are recorded at all: a hot path skips opening them when not (a
    #: context manager per delivery attempt cost about 3 % of the gateway's CPU)
    active: bool

    def span(
        self,
        name: str,
        attributes: Attributes,
        *,
        client: bool = False,
        parent: str | None = None,
    ) -> AbstractContextManager[None]:
        """A span, current inside the block; `client` for a call to another party;
        `parent` (a W3C traceparent) continues that trace instead of the current one.
        An exception leaving the block is recorded on the span and passed on."""
        ...

    def inject(self, headers: dict[str, str]) -> None:
        """Add the current span's W3C `traceparent` (and `tracestate`) to `headers`."""
        ...

    def continued(self, headers: Mapping[str, str]) -> AbstractContextManager[None]:
        """The sender's trace named by the W3C `traceparent` (and `tracestate`) among
        `headers` made current inside the block, with no span of its own: what is traced
        inside belongs to that trace. A missing or malformed traceparent continues
        nothing (the spans inside start a trace of their own)."""
        ...


class Metrics(Protocol):
    """What the dispatcher reports about each recorded attempt; an adapter exports it.

    `outcome` is `delivered`, `retry` (rescheduled), `dead` (dead-lettered) or `stale`
    (the attempt had lost its claim: nothing was recorded but a `stale_outcome` entry).
    """

    def attempt(self, agency: str, outcome: str, seconds: float) -> None: ...
