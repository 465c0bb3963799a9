"""A gateway with two simulated message boards: the mayor's mailbox (pull) and the
netizens' board (push). The mapping files are the real ones, copied with a fast poll
interval and a short retry schedule so the tests run in seconds."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from connectors.simulators.portal_board import PortalBoardSimulator
from connectors.simulators.server import ServerThread
from gateway.crypto.signing import generate_ed25519_key, public_text_of
from tests.conftest import Stack

MAPPINGS = Path(__file__).resolve().parents[3] / "mappings"
MAYOR = "portal-mayor-mailbox"
NETIZEN = "portal-netizen-board"
POLL_INTERVAL = 0.2


def fast_mappings(root: Path) -> Path:
    """A copy of mappings/ whose boards poll every 0.2 s and retry after 2 s, 4 s, …"""
    copy = root / "mappings"
    shutil.copytree(MAPPINGS, copy)
    for board in (MAYOR, NETIZEN):
        path = copy / "agencies" / f"{board}.toml"
        text = path.read_text(encoding="utf-8")
        text = text.replace("poll_interval = 60", f"poll_interval = {POLL_INTERVAL}")
        text = text.replace("schedule = [0, 5, 30,", "schedule = [0, 2, 4,")
        text = text.replace("throttle_floor = 5", "throttle_floor = 0.5")
        path.write_text(text, encoding="utf-8")
    return copy


@dataclass
class Boards:
    """The running stack and its two boards."""

    stack: Stack
    mayor: PortalBoardSimulator
    netizen: PortalBoardSimulator
    netizen_key: str


@pytest.fixture
def boards(make_stack: Callable[..., Stack], tmp_path: Path) -> Iterator[Boards]:
    mayor = PortalBoardSimulator(prefix="M", id_field="xh")
    netizen = PortalBoardSimulator(prefix="N")
    servers = [ServerThread(mayor.app).start(), ServerThread(netizen.app).start()]
    netizen_key = generate_ed25519_key()
    stack = make_stack(
        more_endpoints={MAYOR: servers[0].url, NETIZEN: servers[1].url},
        more_keys={NETIZEN: [public_text_of(netizen_key)]},
        mappings_dir=fast_mappings(tmp_path),
    )
    gateway_public = public_text_of(stack.gateway_key)
    mayor.trust([gateway_public])
    netizen.trust([gateway_public])
    yield Boards(stack, mayor, netizen, netizen_key)
    for server in servers:
        server.stop()
