"""Typed settings, read once from the environment (prefix LIANXIN_) by the composition root."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Everything Lianxin reads from its environment; dict values are JSON."""

    model_config = SettingsConfigDict(env_prefix="LIANXIN_", extra="ignore")

    database_url: str = Field(default="sqlite:///./lianxin.db")
    mappings_dir: Path = Field(default=REPO_ROOT / "mappings")
    catalogue: str = Field(default="routing/catalogue.toml", description="relative to mappings_dir")
    hotline_callback_url: str | None = Field(default=None, description="endpoint of 'hotline'")
    agency_endpoints: dict[str, str] = Field(default_factory=dict)
    signing_keys: list[SecretStr] = Field(
        default_factory=list, description="our whsk_ keys; all sign (rotation), first is newest"
    )
    agency_keys: dict[str, list[str]] = Field(
        default_factory=dict, description="extra whpk_ keys per agency that verify its messages"
    )
    agency_secrets: dict[str, SecretStr] = Field(
        default_factory=dict, description="whsec_ shared secret per agency using v1 (HMAC)"
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    poll_interval: float = Field(default=1.0, gt=0)
    watch_interval: float = Field(
        default=1.0, gt=0, le=60, description="seconds between deadline-watch passes"
    )
    lease_seconds: float = Field(default=60.0, gt=0)
    node_id: str = Field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    log_level: str = "INFO"
    mqtt_url: str = Field(default="mqtt://127.0.0.1:1883", description="mqtt:// or mqtts://")
    mqtt_topic_prefix: str = Field(default="lianxin", pattern=r"^[A-Za-z0-9_\-/]+$")
    mqtt_share_group: str = Field(default="lianxin", pattern=r"^[A-Za-z0-9_\-]+$")
    mqtt_session_expiry: int = Field(default=86_400, ge=0, description="seconds")
    mqtt_keepalive: int = Field(default=30, ge=5)
    mqtt_tls_ca: Path | None = None
    mqtt_tls_cert: Path | None = None
    mqtt_tls_key: Path | None = None
    mqtt_max_message_bytes: int = Field(default=262_144, ge=1024)
