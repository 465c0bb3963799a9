"""The MQTT connector's session on the real Mosquitto, with a recording handler (no database):
persistence while Lianxin is away, shared subscriptions, redelivery, and what is transient."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from connectors.mqtt.connector import MqttConnector
from connectors.simulators.broker import free_port
from gateway.domain.errors import TransientDelivery
from tests.integration.mqtt.conftest import (
    Recorder,
    delivery,
    eventually,
    listening,
    publish,
    stopped,
)


async def test_updates_sent_while_lianxin_is_away_wait_at_the_broker(
    make_connector: Callable[..., MqttConnector],
) -> None:
    first, recorder = make_connector("node-a"), Recorder()
    await stopped(await listening(first, recorder))
    await first.aclose()
    for n in range(3):
        await publish(first, f"away-{n}")
    again = make_connector("node-a")  # the same process identity: the same session
    task = await listening(again, recorder)
    await eventually(lambda: len(recorder.seen) == 3)
    await stopped(task)
    assert recorder.seen == ["away-0", "away-1", "away-2"]


async def test_a_shared_subscription_splits_updates_between_processes(
    make_connector: Callable[..., MqttConnector],
) -> None:
    one, two = make_connector("node-1"), make_connector("node-2")
    got_one, got_two = Recorder(), Recorder()
    tasks = [await listening(one, got_one), await listening(two, got_two)]
    for n in range(10):
        await publish(one, f"split-{n}")
    await eventually(lambda: len(got_one.seen) + len(got_two.seen) == 10)
    for task in tasks:
        await stopped(task)
    assert got_one.seen and got_two.seen, "both processes take a share"
    assert sorted(got_one.seen + got_two.seen) == sorted(f"split-{n}" for n in range(10))


@pytest.mark.slow
async def test_an_update_that_could_not_be_processed_comes_again_after_the_session_resumes(
    make_connector: Callable[..., MqttConnector],
) -> None:
    connector, recorder = make_connector("node-r"), Recorder(failures=1)
    connector.resume_after = 0.1
    task = await listening(connector, recorder)
    await publish(connector, "retry-me")
    await eventually(lambda: recorder.seen == ["retry-me"])
    await asyncio.sleep(1.5)  # acknowledged now: it does not come a third time
    await stopped(task)
    assert (recorder.calls, recorder.seen) == (2, ["retry-me"])


async def test_a_delivery_while_the_broker_is_unreachable_is_transient(
    make_connector: Callable[..., MqttConnector],
) -> None:
    connector = make_connector("node-u", url=f"mqtt://127.0.0.1:{free_port()}")
    with pytest.raises(TransientDelivery, match="not connected"):
        await connector.deliver(delivery())


async def test_an_order_without_the_company_receipt_is_transient(
    make_connector: Callable[..., MqttConnector],
) -> None:
    connector = make_connector("node-n")
    task = await listening(connector, Recorder())
    with pytest.raises(TransientDelivery, match="no receipt"):
        await connector.deliver(delivery())
    await stopped(task)
