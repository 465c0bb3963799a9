"""Every command block in README.md works as written.

The blocks run in a scratch directory that links the checkout's `.venv` (so the README's
`.venv/bin/lianxin` paths hold) with this checkout on PYTHONPATH, and no LIANXIN_*
variables but the README's own. `serve` starts in the background on a free loopback port
(the README's 8345 replaced), the "while it runs" block runs line by line against it, and
the server is stopped. `./dev.sh demo` and `./dev.sh test` are not run here (the demo has
its own e2e test; the test suite cannot run inside itself): their verbs are checked.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.xdist_group("readme")  # one worker: `served` starts once

ROOT = Path(__file__).parents[3]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```[a-z]*\n(.*?)^```", README, flags=re.MULTILINE | re.DOTALL)
README_PORT = "8345"


def _block(marker: str) -> str:
    found = [b for b in BLOCKS if marker in b]
    assert len(found) == 1, f"README.md: expected one command block with {marker!r}"
    return str(found[0])


DEV_BLOCK = _block("./dev.sh demo")
SERVE_BLOCK = _block("lianxin serve")
WHILE_RUNNING_BLOCK = _block("audit verify")
TIERS_BLOCK = _block("./dev.sh test-fast")  # "Tests": the two tiers (not run here: they run this)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _commands(block: str, port: int) -> list[str]:
    lines = [line.strip() for line in block.replace(README_PORT, str(port)).splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def _environment() -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LIANXIN_")}
    return clean | {"PYTHONPATH": os.pathsep.join([str(ROOT), clean.get("PYTHONPATH", "")])}


def _exports(lines: list[str], cwd: Path, env: dict[str, str]) -> dict[str, str]:
    """The environment after the block's lines before `serve` (its exports)."""
    script = (
        "set -e\n"
        + "\n".join(lines)
        + '\npython3 -c "import json, os; print(json.dumps(dict(os.environ)))"'
    )
    done = subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, f"README block failed before serve:\n{done.stderr}"
    return dict(json.loads(done.stdout))


def _wait_for_health(url: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, f"serve from the README exited: {server.communicate()[1]}"
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail(f"serve from the README did not answer {url} within 60 s")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str], int]]:
    """The README's serve block running in a scratch directory: (directory, env, port)."""
    cwd = tmp_path_factory.mktemp("readme")
    (cwd / ".venv").symlink_to(ROOT / ".venv")
    port = _free_port()
    lines = _commands(SERVE_BLOCK, port)
    serve = [n for n, line in enumerate(lines) if "lianxin serve" in line]
    assert serve == [len(lines) - 1], "the serve block ends with `lianxin serve`"
    assert "--host 127.0.0.1" in lines[-1]
    env = _exports(lines[:-1], cwd, _environment())
    server = subprocess.Popen(
        ["bash", "-c", f"exec {lines[-1]}"],
        cwd=cwd,
        env=env,
        text=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for_health(f"http://127.0.0.1:{port}/healthz", server)
        yield cwd, env, port
    finally:
        server.terminate()
        server.communicate(timeout=30)


def _run(line: str, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        ["bash", "-c", line], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, f"README: `{line}` exited {done.returncode}: {done.stderr}"
    return done.stdout


@pytest.mark.slow
def test_the_readme_starts_serve_and_every_command_beside_it_works(
    served: tuple[Path, dict[str, str], int],
) -> None:
    cwd, env, port = served
    outputs = {line: _run(line, cwd, env) for line in _commands(WHILE_RUNNING_BLOCK, port)}
    by_command = {re.sub(r"\s+", " ", line): out for line, out in outputs.items()}
    assert len(by_command) == 5, "test_readme.py checks each command of this block: add the new one"
    for line, out in by_command.items():
        if line.endswith("/healthz"):
            assert json.loads(out) == {"status": "ok"}
        elif "/v1/admin/agencies" in line:
            assert "error" not in json.loads(out), out  # the README's token is let in
        elif "audit verify" in line:
            assert out.startswith("audit chain verified:")
        elif "deliveries list" in line:
            assert json.loads(out)["total"] == 0
        elif line.endswith("--version"):
            assert out.startswith("lianxin ")
        else:
            pytest.fail(f"README: no check for `{line}`")


@pytest.mark.slow
def test_the_readme_writes_its_database_in_the_directory_it_runs_in(
    served: tuple[Path, dict[str, str], int],
) -> None:
    cwd, _env, _port = served
    assert (cwd / "lianxin.db").stat().st_size > 0


def test_every_command_block_of_the_readme_is_checked_here() -> None:
    assert len(BLOCKS) == 4, "a new README command block: run it in test_readme.py"


def test_the_two_dev_commands_are_verbs_dev_sh_knows() -> None:
    usage = subprocess.run(
        ["./dev.sh"], cwd=ROOT, capture_output=True, text=True, timeout=30, check=False
    ).stderr
    assert _commands(DEV_BLOCK, 0) == ["./dev.sh demo", "./dev.sh test"]
    assert "./dev.sh demo" in usage and "| test" in usage


def test_the_test_tiers_are_verbs_dev_sh_knows() -> None:
    usage = subprocess.run(
        ["./dev.sh"], cwd=ROOT, capture_output=True, text=True, timeout=30, check=False
    ).stderr
    verbs = [line.split("#")[0].strip() for line in _commands(TIERS_BLOCK, 0)]
    assert verbs == ["./dev.sh test", "./dev.sh test-fast"]
    assert "| test [" in usage and "| test-fast [" in usage
