"""`lianxin simulators`: the demo's simulated hotline and agencies as one standalone process.

The demo starts them in its own process; a deployment test, compose.yaml or several
gateway processes need them apart, reachable from every gateway. They verify the
gateway's signatures with the public half of LIANXIN_SIGNING_KEYS, sign their own
updates with the keys in LIANXIN_SIMULATOR_KEYS (`--new-keys` makes a set), and print
the LIANXIN_AGENCY_ENDPOINTS and LIANXIN_AGENCY_KEYS a gateway needs to reach them.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from gateway.cli.invocation import Invocation
from gateway.domain.errors import ConfigError
from gateway.world import AGENCIES

KEYS_VARIABLE = "LIANXIN_SIMULATOR_KEYS"


def add_verbs(verbs: Any) -> None:
    """Add `simulators` to the sub-commands."""
    sims = verbs.add_parser("simulators", help="run the simulated hotline and agencies")
    sims.add_argument("--host", default="127.0.0.1", help="address to listen on")
    sims.add_argument(
        "--base-port",
        type=int,
        default=18300,
        help="hotline here, agencies on the next ports; 0: any",
    )
    sims.add_argument(
        "--gateway",
        action="append",
        default=[],
        metavar="URL",
        help="where agencies send updates (repeat for several gateways; default http://127.0.0.1:8345)",
    )
    sims.add_argument("--advertise", metavar="HOST", help="host name gateways use (default --host)")
    sims.add_argument(
        "--new-keys", action="store_true", help=f"print a new {KEYS_VARIABLE} and exit"
    )
    sims.add_argument(
        "--print-settings", action="store_true", help="print the gateway's settings and exit"
    )
    sims.set_defaults(run=run)


@dataclass(frozen=True)
class Plan:
    """Where each simulator listens and which keys it uses."""

    host: str
    advertise: str
    ports: dict[str, int]  # "hotline" and each agency
    agency_keys: dict[str, str]
    gateway_keys: list[str]

    def settings(self, ports: dict[str, int] | None = None) -> dict[str, str]:
        """The gateway settings that point at these simulators."""
        from gateway.world.simulated import gateway_settings

        bound = ports or self.ports
        urls = {name: f"http://{self.advertise}:{port}" for name, port in bound.items()}
        callbacks, endpoints, public = gateway_settings(urls, self.agency_keys)
        return {
            "LIANXIN_HOTLINE_CALLBACK_URL": callbacks,
            "LIANXIN_AGENCY_ENDPOINTS": json.dumps(endpoints, separators=(",", ":")),
            "LIANXIN_AGENCY_KEYS": json.dumps(public, separators=(",", ":")),
        }


def new_keys() -> dict[str, str]:
    """A fresh Ed25519 signing key per simulated agency."""
    from gateway.world.simulated import new_agency_keys

    return {agency: key for agency, key in new_agency_keys().items() if agency in AGENCIES}


def run(args: argparse.Namespace, invocation: Invocation) -> int:
    """Print keys or settings, or run every simulator until SIGTERM or Ctrl-C."""
    if args.new_keys:
        print(json.dumps(new_keys()))
        return 0
    plan = _plan(args, invocation)
    if args.print_settings:
        _print(plan.settings())
        return 0
    return _serve(plan, args.gateway or ["http://127.0.0.1:8345"])


def _plan(args: argparse.Namespace, invocation: Invocation) -> Plan:
    from gateway.crypto.signing import public_text_of

    try:
        keys = json.loads(os.environ.get(KEYS_VARIABLE) or "null") or new_keys()
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{KEYS_VARIABLE} is not JSON: {exc}") from exc
    if not isinstance(keys, dict):
        raise ConfigError(f"{KEYS_VARIABLE} must be a JSON object: agency → whsk_ key")
    missing = sorted(set(AGENCIES) - set(keys))
    if missing:
        raise ConfigError(f"{KEYS_VARIABLE} has no key for {', '.join(missing)}")
    signing = invocation.settings.signing_keys
    if not signing:
        raise ConfigError(
            "LIANXIN_SIGNING_KEYS is not set: the simulators verify the gateway with it"
        )
    names = ["hotline", *AGENCIES]
    base = args.base_port
    ports = {name: (base + n if base else 0) for n, name in enumerate(names)}
    gateway_keys = [public_text_of(key.get_secret_value()) for key in signing]
    return Plan(args.host, args.advertise or args.host, ports, keys, gateway_keys)


def _serve(plan: Plan, gateways: list[str]) -> int:
    from connectors.simulators.server import ServerThread

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with ExitStack() as stack:
        bound: dict[str, int] = {}
        for name, app in _apps(plan, gateways).items():
            server = ServerThread(app, port=plan.ports[name], host=plan.host)
            bound[name] = stack.enter_context(server).port
        print(f"simulators listening on {plan.host}: {bound}; gateway settings:", flush=True)
        _print(plan.settings(bound))
        while not stop.wait(0.5):
            pass
    return 0


def _apps(plan: Plan, gateways: list[str]) -> dict[str, Any]:
    from gateway.world.simulated import DEMO, Pace, simulators

    first, others = gateways[0], tuple(gateways[1:])
    pace = Pace({**DEMO.scripts, "ambulance-120": DEMO.scripts["fire-119"]})  # 120 on time
    return simulators(first, plan.gateway_keys, plan.agency_keys, pace, others).apps()


def _print(settings: dict[str, str]) -> None:
    for name, value in settings.items():
        print(f"{name}='{value}'", file=sys.stdout, flush=True)
