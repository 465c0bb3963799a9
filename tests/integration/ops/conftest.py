"""Fixtures of the operations tests: an MQTT alert channel's subscriber."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from connectors.simulators.utility import UtilitySimulator
from gateway.crypto.signing import generate_ed25519_key, public_text_of
from tests.conftest import Stack, require_mqtt
from tests.integration.ops.alerting import MQTT_CHANNEL


@pytest.fixture
def mqtt_channel_key() -> str:
    """The signing key of the MQTT alert channel's subscriber (its receipts)."""
    require_mqtt()
    return generate_ed25519_key()


@pytest.fixture
def start_mqtt_channel() -> Iterator[Callable[[Stack, str], UtilitySimulator]]:
    """Start a subscriber on the MQTT alert channel's topic; stopped after the test."""
    started: list[UtilitySimulator] = []

    def start(stack: Stack, key: str) -> UtilitySimulator:
        public = public_text_of(stack.gateway_key)
        subscriber = UtilitySimulator(MQTT_CHANNEL, stack.settings, [public], key).start()
        started.append(subscriber)
        return subscriber

    yield start
    for subscriber in started:
        subscriber.stop()
