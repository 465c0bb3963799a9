"""Run an ASGI app on a loopback socket in a background thread (simulators, demo, tests)."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn


@dataclass(frozen=True)
class ServerTls:
    """HTTPS for a simulator: its certificate, and the CA its clients must present one from."""

    cert: Path
    key: Path
    client_ca: Path | None = None  # set: a client certificate is required (mutual TLS)

    def uvicorn_options(self) -> dict[str, Any]:
        """uvicorn.Config's TLS keywords."""
        options: dict[str, Any] = {"ssl_certfile": str(self.cert), "ssl_keyfile": str(self.key)}
        if self.client_ca is not None:
            options |= {"ssl_ca_certs": str(self.client_ca), "ssl_cert_reqs": ssl.CERT_REQUIRED}
        return options


class ServerThread:
    """A uvicorn server on 127.0.0.1, started and stopped from synchronous code.

    The socket is bound at construction, so the URL is known before the app exists
    (the gateway and its simulators need each other's addresses).
    """

    def __init__(
        self, app: Any = None, port: int = 0, host: str = "127.0.0.1", tls: ServerTls | None = None
    ) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.host, self.port = self.sock.getsockname()
        self.scheme = "http" if tls is None else "https"
        options = {} if tls is None else tls.uvicorn_options()
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="auto", **options
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, daemon=True, name=f"server-{self.port}")

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT (https with TLS)"""
        return f"{self.scheme}://{self.host}:{self.port}"

    def _run(self) -> None:
        asyncio.run(self.server.serve(sockets=[self.sock]))

    def start(self, app: Any = None, timeout: float = 10.0) -> ServerThread:
        """Start serving (`app` if given); return once the server accepts connections."""
        if app is not None:
            self.server.config.app = app
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the server to finish and wait for its thread."""
        self.server.should_exit = True
        self.thread.join(timeout)
        self.sock.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
