"""Run `lianxin serve` as a real child process, for tests that kill it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from gateway.crypto.sealing import generate_data_key


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class GatewayProcess:
    """`python -m gateway.cli serve` with settings passed through the environment."""

    def __init__(self, port: int, settings: dict[str, Any], log: Path) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.env = {**os.environ}
        for name, value in settings.items():
            text = value if isinstance(value, str) else json.dumps(value)
            self.env[f"LIANXIN_{name.upper()}"] = text
        # a deployment keeps its data key across restarts (lianxin serve requires one)
        self.env.setdefault("LIANXIN_DATA_KEYS", json.dumps([generate_data_key()]))
        if "LIANXIN_API_TOKENS" not in self.env:  # serve is closed without tokens
            self.env.setdefault("LIANXIN_OPEN_API", "true")
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        """Start the process and wait until /readyz answers 200."""
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gateway.cli", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited with {self.proc.returncode}; see {self.log}")
            try:
                if self.ready():
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gateway not ready after {timeout}s; see {self.log}")

    def ready(self) -> bool:
        """True once /readyz answers 200 (a subclass may reach it another way, e.g. TLS)."""
        return httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flush."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        """SIGTERM and wait (used at the end of a test)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
