"""`lianxin simulators`: the simulated hotline and agencies as their own process, which
verify the gateway's signatures and tell the gateway where they are."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from gateway.crypto.signing import MessageSigner, generate_ed25519_key, parse_signing_key


def lianxin(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **env},
    )


@pytest.fixture
def keys() -> dict[str, str]:
    """The gateway's signing key and a set of simulator keys, as the environment holds them."""
    made = lianxin("simulators", "--new-keys", env={})
    assert made.returncode == 0, made.stderr
    return {
        "LIANXIN_SIGNING_KEYS": json.dumps([generate_ed25519_key()]),
        "LIANXIN_SIMULATOR_KEYS": made.stdout.strip(),
    }


@pytest.fixture
def running(keys: dict[str, str]) -> Iterator[tuple[dict[str, str], subprocess.Popen[str]]]:
    """`lianxin simulators --base-port 0` and the gateway settings it printed."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "simulators", "--base-port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **keys},
    )
    assert proc.stdout is not None
    lines = [proc.stdout.readline() for _ in range(4)]
    printed = dict(line.strip().split("=", 1) for line in lines[1:])
    yield {name: value.strip("'") for name, value in printed.items()}, proc
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


def test_printed_settings_name_every_agency_with_its_public_key(keys: dict[str, str]) -> None:
    printed = lianxin("simulators", "--print-settings", "--advertise", "simulators", env=keys)
    assert printed.returncode == 0, printed.stderr
    settings = dict(line.split("=", 1) for line in printed.stdout.splitlines())
    endpoints = json.loads(settings["LIANXIN_AGENCY_ENDPOINTS"].strip("'"))
    public = json.loads(settings["LIANXIN_AGENCY_KEYS"].strip("'"))
    assert endpoints["tax-12366"] == "http://simulators:18301/orders"
    assert settings["LIANXIN_HOTLINE_CALLBACK_URL"] == "'http://simulators:18300/callbacks'"
    assert set(public) == set(json.loads(keys["LIANXIN_SIMULATOR_KEYS"]))
    assert all(value[0].startswith("whpk_") for value in public.values())


def test_without_the_gateway_key_it_refuses_to_start() -> None:
    result = lianxin("simulators", "--print-settings", env={"LIANXIN_SIGNING_KEYS": "[]"})
    assert result.returncode == 2 and "LIANXIN_SIGNING_KEYS is not set" in result.stderr


def test_the_running_agency_accepts_a_signed_transfer_and_refuses_an_unsigned_one(
    keys: dict[str, str], running: tuple[dict[str, str], subprocess.Popen[str]]
) -> None:
    settings, proc = running
    url = json.loads(settings["LIANXIN_AGENCY_ENDPOINTS"])["tax-12366"]
    body = json.dumps({"type": "work_order.event", "id": "msg_1", "order_id": "wo_1"}).encode()
    signer = MessageSigner([parse_signing_key(json.loads(keys["LIANXIN_SIGNING_KEYS"])[0])])
    signed = httpx.post(url, content=body, headers=signer.headers("msg_1", body))
    unsigned = httpx.post(url, content=body)

    assert signed.status_code == 200 and signed.json()["id"] == "SW-000001"
    assert unsigned.status_code == 401
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0


@pytest.mark.parametrize(
    ("keys", "said"),
    [
        ("{not json", "is not JSON"),
        ("[1]", "must be a JSON object"),
        ('{"tax-12366": "whsk_x"}', "has no key for ambulance-120, city-management"),
    ],
)
def test_bad_simulator_keys_are_a_config_error(keys: str, said: str) -> None:
    env = {"LIANXIN_SIMULATOR_KEYS": keys, "LIANXIN_SIGNING_KEYS": "[]"}
    result = lianxin("simulators", "--print-settings", env=env)
    assert result.returncode == 2 and said in result.stderr, result.stderr
