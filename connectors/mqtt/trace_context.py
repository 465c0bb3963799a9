"""An MQTT update's W3C trace context, continued while Lianxin handles it.

A utility that traces sends `traceparent` (and `tracestate`) as MQTT 5 user properties,
named like the HTTP headers. With LIANXIN_TRACING on, the sender's span is made the
current parent while the update is handled, so every span of the handling (the database
work, the hotline callback it queues) belongs to the sender's trace, as an HTTP request's
do. A missing or malformed traceparent continues nothing: the spans start a trace of
their own and the update is handled as ever.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from gateway.domain.messages import TRACE_HEADERS

_W3C = TraceContextTextMapPropagator()


@contextmanager
def continued(headers: Mapping[str, str], enabled: bool) -> Iterator[None]:
    """The sender's trace, current inside the block (when `enabled`)."""
    if not enabled:
        yield
        return
    carrier = {name: headers[name] for name in TRACE_HEADERS if name in headers}
    # extract never raises: a traceparent it cannot parse gives an empty context, that
    # is no parent, so what the handling traces starts afresh
    token = context.attach(_W3C.extract(carrier, context=context.Context()))
    try:
        yield
    finally:
        context.detach(token)
