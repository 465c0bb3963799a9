"""`lianxin certs init`: a development CA, server and agency certificates."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gateway.cli.invocation import Invocation


def add_verbs(verbs: Any) -> None:
    """Add `certs init`."""
    certs = verbs.add_parser("certs", help="TLS certificates").add_subparsers(title="certs")
    init = certs.add_parser("init", help="a development CA, server and agency certificates")
    init.add_argument("directory", type=Path, metavar="DIR")
    init.add_argument(
        "--host", action="append", default=[], help="another server name or IP (repeatable)"
    )
    init.add_argument("--mappings", type=Path, metavar="DIR", help="default: LIANXIN_MAPPINGS_DIR")
    init.set_defaults(run=run_init)


def run_init(args: argparse.Namespace, invocation: Invocation) -> int:
    """Issue a certificate for every agency the mappings name."""
    from gateway.crypto import certs

    agencies = invocation.tools(mappings_dir=args.mappings).mappings.agencies
    issued = certs.init(args.directory, sorted(agencies), args.host)
    print(f"CA {issued.ca}; server certificate {issued.server_cert}")
    print(f"the gateway's client certificate towards agencies: {issued.outbound_cert}")
    for agency, (cert, _key) in issued.clients.items():
        print(f"client certificate for {agency}: {cert}")
    print("private keys (*.key) are 0600: keep them out of version control")
    return 0
