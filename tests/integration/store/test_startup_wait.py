"""`serve` waits a bounded time for a database that is still starting (tenacity)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from gateway.domain.errors import ConfigError
from gateway.store.startup import wait_for_database

OPENS_AFTER = 1.5  # seconds until the late port starts forwarding to PostgreSQL


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        target.close()


def _forward(listener: socket.socket, upstream: tuple[str, int]) -> None:
    while True:
        try:
            client, _ = listener.accept()
        except OSError:  # the listener was closed: the test is over
            return
        server = socket.create_connection(upstream)
        for a, b in ((client, server), (server, client)):
            threading.Thread(target=_pipe, args=(a, b), daemon=True).start()


@pytest.fixture
def late_postgres(postgres_url: str) -> Iterator[str]:
    """The test database's URL on a port that starts answering OPENS_AFTER seconds from now."""
    url = make_url(postgres_url)
    upstream = (url.host or "127.0.0.1", url.port or 5432)
    port = _free_port()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)

    def open_later() -> None:
        time.sleep(OPENS_AFTER)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        _forward(listener, upstream)

    threading.Thread(target=open_later, daemon=True).start()
    yield url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    listener.close()


@pytest.mark.slow
def test_a_database_that_opens_late_is_waited_for(late_postgres: str) -> None:
    started = time.monotonic()
    wait_for_database(late_postgres, wait=15)
    assert OPENS_AFTER <= time.monotonic() - started < 10


def test_a_database_that_never_opens_stops_start_up_with_a_clear_error() -> None:
    url = f"postgresql://lianxin:secret@127.0.0.1:{_free_port()}/lianxin"
    started = time.monotonic()
    with pytest.raises(ConfigError) as raised:
        wait_for_database(url, wait=1)
    assert time.monotonic() - started < 5
    message = raised.value.message
    assert "not reachable after 1 s (LIANXIN_DATABASE_WAIT)" in message
    assert "secret" not in message and "127.0.0.1" in message


def test_a_database_that_answers_with_an_error_is_not_waited_for(postgres_url: str) -> None:
    missing = make_url(postgres_url).set(database="lianxin_no_such_database")
    started = time.monotonic()
    with pytest.raises(ConfigError) as raised:
        wait_for_database(missing.render_as_string(hide_password=False), wait=20)
    assert time.monotonic() - started < 3
    assert "lianxin_no_such_database" in raised.value.message
    assert "refused" in raised.value.message and "not reachable" not in raised.value.message


def test_a_sqlite_file_whose_directory_appears_late_is_waited_for(tmp_path: Path) -> None:
    directory = tmp_path / "not-yet"
    threading.Timer(1.0, directory.mkdir).start()
    wait_for_database(f"sqlite:///{directory / 'lianxin.db'}", wait=10)
    assert (directory / "lianxin.db").exists()


@pytest.mark.slow
def test_serve_stops_with_the_error_when_the_database_never_opens() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIANXIN_")} | {
        "LIANXIN_DATABASE_URL": f"postgresql://lianxin:secret@127.0.0.1:{_free_port()}/x",
        "LIANXIN_DATABASE_WAIT": "1",
        "LIANXIN_HOTLINE_CALLBACK_URL": "http://127.0.0.1:9/callbacks",
    }
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "serve", "--open-api", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert done.returncode == 2
    assert "lianxin: config_error: database postgresql://lianxin:***@127.0.0.1:" in done.stderr
    assert "not reachable after 1 s (LIANXIN_DATABASE_WAIT)" in done.stderr
