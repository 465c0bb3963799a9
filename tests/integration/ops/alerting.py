"""Builders for the agency-alert tests: quick profiles, an MQTT alert channel, what arrived."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select

from gateway.crypto.signing import public_text_of
from gateway.store.schema import agency_standing
from tests.conftest import Stack
from tests.integration.api.helpers import mappings_copy

TAX = "tax-12366"
MQTT_CHANNEL = "ops-mqtt"
DEFAULT_SCHEDULE = "schedule = [0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]"
FAST_RETRIES = "schedule = [" + ", ".join(["0"] + ["0.1"] * 60) + "]"
ONE_ATTEMPT = "schedule = [0]"

#: an alert channel on an MQTT topic (a subscriber answers each alert with a receipt)
MQTT_CHANNEL_PROFILE = f"""
id = "{MQTT_CHANNEL}"
name = "运维告警 MQTT 主题"
transport = "mqtt"
timeout = 5
concurrency = 4
alert_channel = true

[retry]
schedule = [0, 0.2, 0.2, 0.2, 0.2, 0.2]
jitter = 0

[mqtt]
qos = 1
"""


def quick_mappings(tmp_path: Path, schedule: str, circuit: str, mqtt: bool = False) -> Path:
    """mappings/ with the tax profile's retry `schedule` and `[circuit]` lines replaced."""
    mappings = mappings_copy(tmp_path, {f"agencies/{TAX}.toml": (DEFAULT_SCHEDULE, schedule)})
    with (mappings / "agencies" / f"{TAX}.toml").open("a", encoding="utf-8") as profile:
        profile.write(f"\n[circuit]\n{circuit}\n")
    if mqtt:
        (mappings / "agencies" / f"{MQTT_CHANNEL}.toml").write_text(MQTT_CHANNEL_PROFILE, "utf-8")
    return mappings


def channel_keys(key: str) -> dict[str, list[str]]:
    """The LIANXIN_AGENCY_KEYS entry that lets the gateway verify the channel's receipts."""
    return {MQTT_CHANNEL: [public_text_of(key)]}


def agency_alerts(stack: Stack, path: str = "/callbacks") -> list[dict[str, Any]]:
    """The agency alerts the hotline (`/callbacks`) or the webhook channel (`/alerts`) got."""
    return [payload for at, payload in list(stack.hotline.agency_alerts) if at == path]


def names(alerts: list[dict[str, Any]]) -> list[str]:
    """The alert names, in arrival order."""
    return [a["alert"] for a in alerts]


def with_clock_ahead(stack: Stack, seconds: float) -> None:
    """The dispatcher's clock from now on runs `seconds` ahead of the wall clock."""
    stack.app.state.gateway.dispatcher.clock = lambda: time.time() + seconds


def standing_row(database_url: str, agency: str) -> Any:
    """The agency's row in agency_standing, straight from the database."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            query = select(agency_standing).where(agency_standing.c.agency == agency)
            return conn.execute(query).one()
    finally:
        engine.dispose()
