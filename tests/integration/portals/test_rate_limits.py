"""A board answering 429 with Retry-After is slowed, not hammered: polls and replies."""

from __future__ import annotations

import time

import httpx
import pytest

from connectors.simulators.portal_board import Logged
from tests.integration.api.helpers import wait_until
from tests.integration.portals.conftest import POLL_INTERVAL, Boards
from tests.integration.portals.helpers import event, letter, order_id_for, status

EARLY = 0.05  # clock and scheduling slack between the gateway and the board


def gaps_after_429(log: list[Logged]) -> list[tuple[float, int]]:
    """For each 429, how long until the board's next request, and the Retry-After given."""
    return [
        (log[i + 1].at - entry.at, entry.retry_after or 0)
        for i, entry in enumerate(log[:-1])
        if entry.status == 429
    ]


@pytest.mark.slow
def test_a_rate_limited_board_is_polled_no_sooner_than_retry_after(boards: Boards) -> None:
    boards.mayor.rate_limit = (2, 1.0)  # two requests a second, then 429 + Retry-After
    start = len(boards.mayor.log)
    time.sleep(4.0)
    log = boards.mayor.log[start:]
    gaps = gaps_after_429(log)
    assert gaps, "the board never had to throttle"
    assert all(gap >= wait - EARLY for gap, wait in gaps), gaps
    # at 0.2 s an unthrottled poller sends ~20 requests in 4 s; honouring Retry-After
    # it sends at most the 2 allowed plus the one refused per one-second window
    refused = sum(1 for entry in log if entry.status == 429)
    assert refused <= len(gaps) + 1 <= 6  # the last 429 may have no request after it yet
    assert len(log) <= 3 * 5
    assert POLL_INTERVAL < 1.0  # so the spacing above is the board's doing, not ours


def test_a_throttled_reply_waits_for_retry_after(boards: Boards) -> None:
    message_id = boards.mayor.add(**letter())
    transfers = boards.stack.hotline.transfers
    order_id = wait_until(lambda: order_id_for(transfers, message_id), what="the order")
    boards.mayor.throttled_replies, boards.mayor.reply_retry_after = 1, 2
    with httpx.Client(base_url=boards.stack.url) as client:
        wait_until(lambda: status(client, order_id) == "dispatched", what="dispatched")
        client.post(f"/v1/work-orders/{order_id}/events", json=event("accept", "e-1"))
        client.post(
            f"/v1/work-orders/{order_id}/events", json=event("feedback", "e-2", note="已处理。")
        )
        wait_until(lambda: boards.mayor.reply_for(message_id), timeout=20, what="the reply")
    attempts = boards.mayor.requests("POST")
    assert [a.status for a in attempts] == [429, 201]
    assert attempts[1].at - attempts[0].at >= 2 - EARLY
