"""Telemetry that goes nowhere: the defaults for the ports in `service/ports/telemetry.py`.

The service layer marks its units (a delivery attempt, the outbound call) through this
port; `gateway.observability.tracing` implements it with OpenTelemetry when LIANXIN_TRACING
is on, and `NoTracing` (the default) does nothing at no cost. `NoMetrics` is for tools
and tests that export no metrics.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from gateway.service.ports.telemetry import Attributes as Attributes
from gateway.service.ports.telemetry import Tracing as Tracing


class NoTracing:
    """Tracing switched off."""

    active = False

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

    @contextmanager
    def continued(self, headers: Mapping[str, str]) -> Iterator[None]:
        """Nothing of the sender is made current: a bare block."""
        yield


class NoMetrics:
    """Metrics that go nowhere (tools and tests that do not export any)."""

    def attempt(self, agency: str, outcome: str, seconds: float) -> None:
        """Ignore the attempt."""
