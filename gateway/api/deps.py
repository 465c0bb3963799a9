"""Shared request dependencies."""

from __future__ import annotations

from fastapi import Request

from gateway.bootstrap import Gateway


def gateway(request: Request) -> Gateway:
    """The gateway built by the lifespan."""
    return request.app.state.gateway  # type: ignore[no-any-return]
