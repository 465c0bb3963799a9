"""The world's broker for the utilities: the one that answers, else a private Mosquitto."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from connectors.simulators.broker import broker_answers, free_port
from gateway.world.broker import find_broker


def test_the_world_takes_the_broker_that_answers(broker_url: str) -> None:
    with ExitStack() as stack:
        url, note = find_broker(stack, broker_url)
    assert url == broker_url and note == f"MQTT broker at {broker_url}"


def test_without_a_broker_the_world_starts_a_private_mosquitto(tmp_path: Path) -> None:
    nobody = f"mqtt://127.0.0.1:{free_port()}"
    with ExitStack() as stack:
        url, note = find_broker(stack, nobody, tmp_path)
        assert url is not None and url != nobody and "private Mosquitto" in note
        assert broker_answers(url)
    assert not broker_answers(url)
