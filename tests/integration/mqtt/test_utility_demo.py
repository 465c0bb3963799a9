"""The demo's utilities: the broker that answers, else a private Mosquitto; four simulators."""

from __future__ import annotations

from pathlib import Path

from connectors.simulators.broker import broker_answers, free_port
from connectors.simulators.utility_demo import COMPANIES, start_utilities
from gateway.crypto.signing import generate_ed25519_key, public_text_of

GATEWAY = public_text_of(generate_ed25519_key())


def test_the_utilities_start_on_the_broker_that_answers(broker_url: str) -> None:
    cast = start_utilities(GATEWAY, broker_url)
    try:
        assert sorted(cast.simulators) == sorted(COMPANIES)
        assert cast.settings_overrides["mqtt_url"] == broker_url
        assert all(keys[0].startswith("whpk_") for keys in cast.agency_keys.values())
    finally:
        cast.stop()


def test_without_a_broker_the_demo_starts_a_private_mosquitto(tmp_path: Path) -> None:
    nobody = f"mqtt://127.0.0.1:{free_port()}"
    cast = start_utilities(GATEWAY, nobody, workdir=tmp_path)
    url = cast.settings_overrides["mqtt_url"]
    try:
        assert url != nobody and "private Mosquitto" in cast.broker_note
        assert broker_answers(url) and len(cast.simulators) == len(COMPANIES)
    finally:
        cast.stop()
    assert not broker_answers(url)
