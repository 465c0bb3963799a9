"""A simulated agency that demands mutual TLS of Lianxin, on the certificates of
`lianxin certs init`.

It serves HTTPS with the gateway's development server certificate (`server.pem`, valid for
127.0.0.1) and refuses every connection whose client certificate the development CA
(`ca.pem`) did not issue: Lianxin reaches it only with `outbound.pem` in the agency's
`[http.tls]`. It records each delivery's `webhook-id` and answers with a case number, or
runs any ASGI app given to it (e.g. an `AgencySimulator`'s) behind the same TLS.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from connectors.simulators.server import ServerThread, ServerTls
from gateway.crypto.certs import Issued

Scope = dict[str, Any]


class MutualTlsAgency:
    """An ASGI agency on HTTPS that requires a client certificate; `received` its deliveries."""

    def __init__(self, issued: Issued, app: Any = None) -> None:
        self.received: list[str] = []
        self._cases = itertools.count(1)
        tls = ServerTls(issued.server_cert, issued.server_key, client_ca=issued.ca)
        self.server = ServerThread(app or self, tls=tls)

    @property
    def url(self) -> str:
        """https://127.0.0.1:PORT"""
        return self.server.url

    def __enter__(self) -> MutualTlsAgency:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """The recording agency (ASGI)."""
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        while (await receive()).get("more_body"):
            pass
        headers = dict(scope["headers"])
        self.received.append(headers.get(b"webhook-id", b"").decode())
        body = json.dumps({"id": f"MTLS-{next(self._cases):06d}"}).encode()
        length = str(len(body)).encode()
        start = {"type": "http.response.start", "status": 202}
        await send(
            {
                **start,
                "headers": [(b"content-type", b"application/json"), (b"content-length", length)],
            }
        )
        await send({"type": "http.response.body", "body": body})
