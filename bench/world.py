"""The processes a benchmark runs against, each on 127.0.0.1: gateway, agency, peers.

Every benchmark starts its own: a `lianxin serve` configured through LIANXIN_* variables
(as deployed), the loopback agency (`bench.sink`), and a database made fresh for the run
(a SQLite file in a temporary directory, or a PostgreSQL database `lianxin_bench_<pid>_<n>`
dropped afterwards).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Self

import httpx
import psutil
from sqlalchemy import Engine, create_engine, text

from gateway.crypto.sealing import generate_data_key
from gateway.crypto.signing import generate_ed25519_key, public_text_of

POSTGRES_ADMIN_URL = os.environ.get(
    "LIANXIN_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
_databases = itertools.count(1)
_engines: dict[str, Engine] = {}


def engine_for(url: str) -> Engine:
    """One engine per database for the benchmark's own queries (polling counts)."""
    if url not in _engines:
        _engines[url] = create_engine(url)
    return _engines[url]


def _forget_engine(url: str) -> None:
    engine = _engines.pop(url, None)
    if engine is not None:
        engine.dispose()


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Child:
    """A child process serving HTTP on a loopback port."""

    def __init__(self, args: list[str], port: int, log: Path, env: dict[str, str] | None = None):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                args,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=Path(__file__).parent.parent,
            )
        self.log = log
        self.name = " ".join(args[-3:])

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self.proc.pid

    def wait_ready(self, path: str = "/", timeout: float = 60.0) -> None:
        """Wait until `path` answers anything below 500."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + path, timeout=1).status_code < 500:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {timeout}s; see {self.log}")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def held_by_sink(sink_url: str, flow_ids: list[str]) -> dict[str, float]:
    """The loopback agency's arrival times of those of `flow_ids` it holds."""
    response = httpx.post(f"{sink_url}/arrivals", json=flow_ids, timeout=30)
    response.raise_for_status()
    return dict(response.json())


def sink_count(sink_url: str, path: str = "/orders") -> int:
    """Deliveries to `path` the loopback agency has accepted (retries and repeats included)."""
    counts = httpx.get(f"{sink_url}/counts", timeout=30).json()
    return int(counts.get(path, 0))


def python_child(module: str, port: int, log: Path, env: dict[str, str] | None = None) -> Child:
    """`python -m module PORT` as a child."""
    return Child([sys.executable, "-m", module, str(port)], port, log, env)


@contextlib.contextmanager
def database(store: str, workdir: Path) -> Iterator[str]:
    """A fresh database URL for `store` ('sqlite' or 'postgresql'), removed afterwards."""
    if store == "sqlite":
        url = f"sqlite:///{workdir / f'bench-{next(_databases)}.db'}"
        yield url
        _forget_engine(url)
        return
    name = f"lianxin_bench_{os.getpid()}_{next(_databases)}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        _forget_engine(url)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def gateway_settings(
    database_url: str,
    sink_url: str,
    endpoints: dict[str, str],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The benchmark gateway's settings, by `Settings` field: its database, the hotline's
    callbacks at the loopback sink `sink_url`, the agencies' `endpoints`, fresh keys, quiet
    logs and no API tokens. The one copy: served (`gateway_env`) and in process
    (`bench.hot_path`, `bench.statements`) gateways start from it."""
    return {
        "database_url": database_url,
        "hotline_callback_url": f"{sink_url}/callbacks",
        "agency_endpoints": endpoints,
        "signing_keys": [generate_ed25519_key()],
        "data_keys": [generate_data_key()],
        "log_level": "WARNING",
        "open_api": True,  # loopback benchmarks without tokens (serve refuses otherwise)
        **(extra or {}),
    }


def gateway_env(
    database_url: str, sink_url: str, extra: dict[str, Any] | None = None
) -> dict[str, str]:
    """LIANXIN_* settings for a gateway whose agencies and hotline are the loopback sink."""
    endpoints = {
        "tax-12366": f"{sink_url}/orders",
        "fire-119": f"{sink_url}/incidents",
        "alert-channel": f"{sink_url}/alerts",
        # the mayor's mailbox is a pull board: the sink answers its polls with no letters
        "portal-mayor-mailbox": f"{sink_url}/board",
    }
    settings = gateway_settings(database_url, sink_url, endpoints, extra)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIANXIN_")}
    for name, value in settings.items():
        env[f"LIANXIN_{name.upper()}"] = value if isinstance(value, str) else json.dumps(value)
    return env


class World:
    """A gateway (or several on one database) and its loopback agency."""

    def __init__(
        self,
        database_url: str,
        workdir: Path,
        extra: dict[str, Any] | None = None,
        gateways: int = 1,
    ):
        self.database_url = database_url
        self.workdir = workdir
        port, fire_key = free_port(), generate_ed25519_key()
        self._more_ports = [free_port() for _ in range(gateways - 1)]
        sink_env = {
            **os.environ,
            "BENCH_SINK_GATEWAY": f"http://127.0.0.1:{port}",
            "BENCH_SINK_KEY": fire_key,
        }
        self.sink = python_child("bench.sink", free_port(), workdir / "sink.log", sink_env)
        fire = {"agency_keys": {"fire-119": [public_text_of(fire_key)]}}
        self.env = gateway_env(database_url, self.sink.url, {**fire, **(extra or {})})
        self.gateway = self._serve(port, "gateway.log")
        self.gateways = [self.gateway]

    def __enter__(self) -> World:
        self.sink.wait_ready("/counts")
        self.gateway.wait_ready("/readyz")
        for n, port in enumerate(self._more_ports, 2):  # once the first has migrated
            self.gateways.append(self._serve(port, f"gateway-{n}.log"))
            self.gateways[-1].wait_ready("/readyz")
        return self

    def __exit__(self, *exc: object) -> None:
        for gateway in self.gateways:
            gateway.stop()
        self.sink.stop()

    def _serve(self, port: int, log: str) -> Child:
        args = [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port)]
        return Child(args, port, self.workdir / log, self.env)

    @property
    def ports(self) -> list[int]:
        """Every gateway's intake port."""
        return [gateway.port for gateway in self.gateways]

    def arrivals(self, flow_ids: list[str]) -> dict[str, float]:
        """flow_id → wall-clock time the agency first held it, for those of `flow_ids` it holds."""
        return held_by_sink(self.sink.url, flow_ids)

    def server_pids(self) -> list[int]:
        """The processes whose CPU the benchmark charges: the gateways."""
        return [gateway.pid for gateway in self.gateways]

    def sink_control(self, verb: str) -> None:
        """`down`, `up` or `reset` the loopback agency."""
        httpx.post(f"{self.sink.url}/{verb}", timeout=10).raise_for_status()


class AppWorld:
    """Another pipeline's intake in a child process and the loopback agency it delivers
    to (the reference and the Celery peer): quacks like World. A subclass starts `sink`,
    then `gateway` and any `helpers` (stopped after the intake, before the sink)."""

    sink: Child
    gateway: Child
    helpers: tuple[Child, ...] = ()

    def __enter__(self) -> Self:
        self.sink.wait_ready("/counts")
        self.gateway.wait_ready("/docs")
        return self

    def __exit__(self, *exc: object) -> None:
        for child in (self.gateway, *self.helpers, self.sink):
            child.stop()

    @property
    def ports(self) -> list[int]:
        """The intake's port."""
        return [self.gateway.port]

    def server_pids(self) -> list[int]:
        """The processes whose CPU the benchmark charges: the intake and its helpers."""
        return [child.pid for child in (self.gateway, *self.helpers)]

    def arrivals(self, flow_ids: list[str]) -> dict[str, float]:
        """flow_id → wall-clock time the agency first held it, for those of `flow_ids` it holds."""
        return held_by_sink(self.sink.url, flow_ids)


class RssSampler:
    """Samples a process's resident memory in a thread; keeps the peak and a series."""

    def __init__(self, pid: int, every: float = 0.5) -> None:
        self.process = psutil.Process(pid)
        self.every = every
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                self.samples.append((time.monotonic(), self.process.memory_info().rss))
            self._stop.wait(self.every)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_mib(self) -> float:
        """Highest RSS seen, in MiB."""
        return max((rss for _, rss in self.samples), default=0) / 2**20


def workdir() -> Path:
    """A temporary directory for databases and logs of one run."""
    return Path(tempfile.mkdtemp(prefix="lianxin-bench-"))
