"""Transport adapters, registered by name and imported only when a profile uses them.

A connector delivers one signed message to one agency and returns a Receipt, or raises
TransientDelivery / PermanentDelivery; it never retries on its own. Add a transport by
writing one module with a `build(profile, settings)` factory and naming it in TRANSPORTS.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from gateway.domain.errors import ConfigError
from gateway.mapping.loader import suggestion

#: transport name → "module:factory"; the factory takes (profile, settings)
TRANSPORTS: dict[str, str] = {
    "rest": "connectors.http.rest:build",
    "memory": "connectors.memory:build",
    "soap": "connectors.soap.connector:build",
    "mqtt": "connectors.mqtt.connector:build",
    "portal": "connectors.portal.connector:build",
}


def resolve(transport: str) -> Callable[..., Any]:
    """The factory for `transport`, imported on first use."""
    try:
        target = TRANSPORTS[transport]
    except KeyError:
        raise ConfigError(
            f"unknown transport '{transport}'" + suggestion(transport, TRANSPORTS)
        ) from None
    module_name, _, factory = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, factory)  # type: ignore[no-any-return]
