"""Pulling a board: one order per message, whatever the polling does."""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import SecretStr

from connectors.simulators.hotline import HotlineSimulator
from connectors.simulators.portal_board import PortalBoardSimulator
from connectors.simulators.server import ServerThread
from gateway.api.app import create_app
from gateway.crypto.signing import generate_ed25519_key, public_text_of
from gateway.settings import Settings
from tests.conftest import MQTT_URL
from tests.integration.api.helpers import wait_until
from tests.integration.portals.conftest import MAYOR, Boards, fast_mappings
from tests.integration.portals.helpers import letter, orders_from, refusals


def polls(board: PortalBoardSimulator) -> int:
    return len(board.requests("GET"))


def test_each_letter_becomes_one_order_however_often_it_is_polled(boards: Boards) -> None:
    ids = [boards.mayor.add(**letter(f"来信{n}")) for n in range(3)]
    hotline, url = boards.stack.hotline, boards.stack.settings.database_url
    wait_until(lambda: len(hotline.transfers) >= 3, what="three transfers to the hotline")
    seen = polls(boards.mayor)
    wait_until(lambda: polls(boards.mayor) >= seen + 5, what="five more polls")
    assert orders_from(url, MAYOR) == ids
    assert sorted(t["work_order"]["flow_id"] for t in hotline.transfers) == ids
    transfer = hotline.transfers[0]
    assert transfer["from_agency"] == MAYOR
    assert transfer["work_order"]["category"] == "complaint"
    assert transfer["work_order"]["location"]["division_code"] == "440100"


def test_overlapping_pages_make_no_second_order(boards: Boards) -> None:
    boards.mayor.overlap = 2
    first = [boards.mayor.add(**letter(f"来信{n}")) for n in range(3)]
    hotline, url = boards.stack.hotline, boards.stack.settings.database_url
    wait_until(lambda: len(hotline.transfers) >= 3, what="the first three letters")
    later = [boards.mayor.add(**letter(f"后来的信{n}")) for n in range(2)]
    wait_until(lambda: len(hotline.transfers) >= 5, what="the later two letters")
    seen = polls(boards.mayor)
    wait_until(lambda: polls(boards.mayor) >= seen + 5, what="five more overlapping polls")
    assert orders_from(url, MAYOR) == first + later
    assert len(hotline.transfers) == 5
    assert any("after=3" in r.query for r in boards.mayor.requests("GET"))


def test_bad_board_data_is_refused_on_record_and_polling_goes_on(boards: Boards) -> None:
    boards.mayor.garbage_pages = 1
    boards.mayor.add(**{**letter(), "bt": None})  # no title
    boards.mayor.add_raw("这不是一封信")  # not an object, no id
    boards.mayor.add(**letter(lx="表扬"))  # a type the code table does not know
    good = boards.mayor.add(**letter("正常来信"))
    url = boards.stack.settings.database_url
    wait_until(lambda: orders_from(url, MAYOR) == [good], what="the good letter's order")
    codes = [r["code"] for r in refusals(url, MAYOR)]
    assert codes[:4] == ["malformed_message", "invalid_input", "invalid_input", "unmappable"]
    messages = [r["message"] for r in refusals(url, MAYOR)]
    assert "board message M-000001: title" in messages[1]
    assert boards.mayor.requests("GET")[-1].status == 200


def test_a_restarted_gateway_resumes_from_the_stored_cursor(
    database_url: str, tmp_path: Path
) -> None:
    board = PortalBoardSimulator(prefix="M", id_field="xh")
    gateway_key = generate_ed25519_key()
    hotline = HotlineSimulator([public_text_of(gateway_key)])
    servers = [ServerThread(board.app).start(), ServerThread(hotline.app).start()]
    settings = Settings(
        database_url=database_url,
        mappings_dir=fast_mappings(tmp_path),
        hotline_callback_url=f"{servers[1].url}/callbacks",
        agency_endpoints={MAYOR: servers[0].url},
        signing_keys=[SecretStr(gateway_key)],
        poll_interval=0.2,
        node_id=f"test-{secrets.token_hex(4)}",
        mqtt_url=MQTT_URL,
        mqtt_topic_prefix=f"lianxin-test-{secrets.token_hex(4)}",
    )
    try:
        first = [board.add(**letter(f"来信{n}")) for n in range(2)]
        gateway = ServerThread(None).start(create_app(settings))
        wait_until(lambda: len(hotline.transfers) == 2, what="the first two letters")
        gateway.stop()
        board.overlap = 5  # the board re-serves everything it already gave
        later = board.add(**letter("重启后的来信"))
        before_restart = polls(board)
        gateway = ServerThread(None).start(create_app(settings))
        wait_until(lambda: len(hotline.transfers) == 3, what="the letter after the restart")
        wait_until(lambda: polls(board) >= before_restart + 3, what="polls after the restart")
        gateway.stop()
    finally:
        for server in servers:
            server.stop()
    assert orders_from(database_url, MAYOR) == [*first, later]
    assert "after=2" in board.requests("GET")[before_restart].query
