"""`lianxin serve`: the gateway with settings from the environment."""

from __future__ import annotations

import argparse
import gc
import ipaddress
import sys
from typing import TYPE_CHECKING, Any

from gateway.cli.invocation import Invocation
from gateway.domain.errors import ConfigError

if TYPE_CHECKING:
    from gateway.settings import Settings

GIL_SWITCH_INTERVAL = 0.001  # seconds; see run_serve
#: a young collection once this many more container objects live than after the last
#: one (Python's default is 700); see `settle_collector`
YOUNG_COLLECTION_AFTER = 10_000


def add_verbs(verbs: Any) -> None:
    """Add `serve`."""
    serve = verbs.add_parser("serve", help="run the gateway with settings from the environment")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8345)
    serve.add_argument(
        "--open-api",
        action="store_true",
        help="development only: serve without LIANXIN_API_TOKENS, every caller admin "
        "(refused unless --host is a loopback address)",
    )
    serve.set_defaults(run=run_serve)


def run_serve(args: argparse.Namespace, invocation: Invocation) -> int:
    """Check the settings, wire the gateway, serve until stopped."""
    import uvicorn

    from gateway.api.app import create_app
    from gateway.api.tls import uvicorn_options
    from gateway.observability.logs import configure_logging

    tools = invocation.tools(open_api=True if args.open_api else None)
    settings = tools.settings
    closed_by_default(settings, args.host)
    configure_logging(settings.log_level, settings.log_format)
    tls = uvicorn_options(settings)
    gateway = tools.gateway()  # configuration errors surface here, before serving
    if not settings.data_keys:  # a throw-away key would make the outbox unreadable after a crash
        raise ConfigError(
            "LIANXIN_DATA_KEYS is not set: queued handoffs and callers' data are stored "
            "encrypted, and a throw-away key could not read them after a restart; "
            "`lianxin data-key` prints a key"
        )
    app = create_app(settings, gateway=gateway)
    # The database thread gives up the GIL for every statement and fsync and must win it
    # back from the event loop: at the default 5 ms switch interval it queued for it
    # (measured on the e2e benchmark: 73–82 handoffs/s at 5 ms, 89–92 at 1 ms).
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    settle_collector()
    uvicorn.run(  # log_config=None: uvicorn's own lines go through ours (JSON, masked)
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        log_config=None,
        access_log=False,
        **tls,
    )
    return 0


def settle_collector() -> None:
    """Set the garbage collector up for serving, once start-up is done.

    What start-up made lives as long as the process: frozen, full collections skip it.
    And a young collection waits for 10,000 new container objects, not 700: an order's
    work makes and drops thousands at a time (a JSON body parsed, a model dumped), so at
    700 the collector ran a few hundred times a second under load, each time walking
    objects about to be dropped anyway. Measured on the e2e benchmark (SQLite, 3,000
    orders, `gc.callbacks`): 0.28–0.29 s of collections at 700, 0.008–0.018 s at 10,000,
    longest pause 14–15 ms against 4–11 ms. Cycles still go, a little later. (Python
    3.11–3.13's generational collector; 3.14's incremental one reads the first threshold
    differently, and this would want measuring again there.)"""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_AFTER, *gc.get_threshold()[1:])


def closed_by_default(settings: Settings, host: str) -> None:
    """Refuse to serve without API tokens, unless open_api is asked for on a loopback host."""
    if settings.api_tokens:
        return
    if not settings.open_api:
        raise ConfigError(
            "LIANXIN_API_TOKENS is not set: refusing to serve a closed API with nobody "
            "allowed in; configure tokens, or pass --open-api (development, loopback only)"
        )
    if not _loopback(host):
        raise ConfigError(
            f"--open-api (LIANXIN_OPEN_API) serves an API without tokens and is allowed on "
            f"a loopback host only, not on '{host}'; configure LIANXIN_API_TOKENS"
        )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
