"""The tracing port: spans and trace-context headers, without a tracing library.

The service layer marks its units (a delivery attempt, the outbound call) through this
port; `gateway.observability.tracing` implements it with OpenTelemetry when LIANXIN_TRACING
is on, and `NoTracing` (the default) does nothing at no cost.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

Attributes = Mapping[str, str | int | float | bool]


class Tracing(Protocol):
    """Opens spans and writes the current trace context into outgoing headers."""

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


class NoTracing:
    """Tracing switched off."""

    @contextmanager
    def span(
        self,
        name: str,
        attributes: Attributes,
        *,
        client: bool = False,
        parent: str | None = None,
    ) -> Iterator[None]:
        """Nothing: a bare block."""
        yield

    def inject(self, headers: dict[str, str]) -> None:
        """Nothing is added."""
