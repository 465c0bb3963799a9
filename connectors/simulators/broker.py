"""A private Mosquitto on a free loopback port (Debian's binary), for the demo when no
broker answers, and for tests that stop and restart a broker. The machine's own broker is
never touched.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def broker_answers(url: str) -> bool:
    """True when something accepts TCP connections at the mqtt:// URL."""
    parsed = urlparse(url)
    try:
        socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 1883), 1).close()
    except OSError:
        return False
    return True


def mosquitto_binary() -> str | None:
    """Debian's mosquitto, if installed."""
    found = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    return found if Path(found).exists() else None


class PrivateBroker:
    """`mosquitto -c <temp config>` with persistence, started and stopped by the test."""

    def __init__(self, workdir: Path, listener_options: str = "") -> None:
        """`listener_options`: extra lines for the listener (e.g. cafile, certfile for TLS)."""
        binary = mosquitto_binary()
        if binary is None:
            raise RuntimeError("mosquitto is not installed: apt-get install mosquitto")
        self.binary = binary
        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        (workdir / "data").mkdir(parents=True, exist_ok=True)
        self.config = workdir / "mosquitto.conf"
        self.output = workdir / "mosquitto.out"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\n{listener_options}allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {workdir / 'data'}/\nset_tcp_nodelay true\n"
            "max_queued_messages 100000\nlog_dest none\n"
            # as root, mosquitto would switch to its own user, who cannot write the
            # persistence file in a root-only temporary directory: nothing would survive
            + ("user root\n" if os.geteuid() == 0 else ""),
            encoding="utf-8",
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        """Start and wait until the port accepts connections."""
        with self.output.open("ab") as output:  # its start-up warnings, kept out of the console
            self.proc = subprocess.Popen(
                [self.binary, "-c", str(self.config)], stdout=output, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        said = self.output.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise RuntimeError(f"private mosquitto did not start on port {self.port}: {said}")

    def stop(self) -> None:
        """SIGTERM (mosquitto saves its persistence file) and wait."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
