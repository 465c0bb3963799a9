"""The FastAPI application: lifespan builds the gateway through the composition root."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from opentelemetry.sdk.trace import TracerProvider

from gateway.api import console, errors, openapi
from gateway.api.auth import TokenBook
from gateway.api.limits import BodyLimit
from gateway.api.rate_limits import RateLimits
from gateway.api.routers import admin, evidence, health, inbound, metrics, soap, work_orders
from gateway.bootstrap import Gateway, bootstrap
from gateway.observability.tracing import provider_for
from gateway.settings import Settings


def create_app(
    settings: Settings | None = None,
    *,
    gateway: Gateway | None = None,
    tracer_provider: TracerProvider | None = None,
    **overrides: Any,
) -> FastAPI:
    """An app that bootstraps Lianxin on start-up (unless given a built `gateway`);
    traced when LIANXIN_TRACING is on or a `tracer_provider` is given."""
    settings = settings or Settings()
    if gateway is not None:
        tracer_provider = gateway.tracer_provider
    else:
        tracer_provider = provider_for(settings, tracer_provider)

    def build() -> Gateway:
        if gateway is not None:
            return gateway
        return bootstrap(settings, tracer_provider=tracer_provider, **overrides)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        gw = build()
        app.state.gateway = gw
        gw.start()
        try:
            yield
        finally:
            await gw.aclose()

    app = FastAPI(
        title="Lianxin 连心",
        version="0.1.0",
        lifespan=lifespan,
        description="Inter-agency integration gateway for 12345 government-service hotlines.",
        telemetry=NO_NATIVE_TELEMETRY,
        routes=[route for module in API_ROUTERS for route in module.router.routes],
    )
    app.state.tokens = TokenBook(settings)
    errors.install(app)
    openapi.install(app)
    key = settings.console_session_key
    console.install(app, key.get_secret_value().encode() if key is not None else None)
    app.add_middleware(
        BodyLimit, max_bytes=settings.max_body_bytes, max_header_bytes=settings.max_header_bytes
    )
    # added last, so it runs first: a caller past its limit costs no body reading at all
    app.add_middleware(RateLimits, book=app.state.tokens, limits=settings.rate_limits)
    if tracer_provider is not None:
        trace_requests(app, tracer_provider)
    return app


#: FastAPI's own OpenTelemetry layer stays off: tracing is `trace_requests` (the
#: instrumentation's spans, configured from our settings) and metrics are gateway/api/routers/
#: metrics.py. Left on, it asked OpenTelemetry for the global providers on every request
#: (about 4 µs) only to find none.
NO_NATIVE_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


#: The API's routes are the app's own, not `include_router`'d: FastAPI matches an included
#: router's routes through a layer of its own, twice per request (to choose, then to
#: handle), which cost 13-20 µs of CPU a request. (So `app.dependency_overrides` does not
#: reach them; nothing here uses it: tests build the gateway with fakes instead.)
API_ROUTERS = (work_orders, evidence, inbound, soap, health, admin, metrics)


def trace_requests(app: FastAPI, provider: TracerProvider) -> None:
    """One server span per API request, continuing the caller's `traceparent`; probes and
    metrics scrapes are left out."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider, excluded_urls=UNTRACED_PATHS)


UNTRACED_PATHS = "/healthz$,/readyz$,/metrics$,/admin/static/"
