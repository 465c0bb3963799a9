"""A private Mosquitto on a free loopback port, for tests that stop and restart the broker.

The machine's own broker is never touched.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from tests.e2e.gateway_process import free_port


class PrivateBroker:
    """`mosquitto -c <temp config>` with persistence, started and stopped by the test."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            raise AssertionError("mosquitto is not installed: apt-get install mosquitto")
        self.binary = binary
        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        (workdir / "data").mkdir(parents=True, exist_ok=True)
        self.config = workdir / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {workdir / 'data'}/\nset_tcp_nodelay true\n"
            "max_queued_messages 100000\nlog_dest none\n",
            encoding="utf-8",
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        """Start and wait until the port accepts connections."""
        self.proc = subprocess.Popen([self.binary, "-c", str(self.config)])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"private mosquitto did not start on port {self.port}")

    def stop(self) -> None:
        """SIGTERM (mosquitto saves its persistence file) and wait."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
