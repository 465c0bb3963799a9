"""Typed settings, read once from the environment (prefix LIANXIN_) by the composition root."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class ApiToken(BaseModel):
    """One API token holder: its role and its token (at least 24 characters)."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["hotline", "admin", "operator", "viewer"]
    token: SecretStr = Field(min_length=24)


class Settings(BaseSettings):
    """Everything Lianxin reads from its environment; dict values are JSON."""

    model_config = SettingsConfigDict(env_prefix="LIANXIN_", extra="ignore")

    database_url: str = Field(default="sqlite:///./lianxin.db")
    database_wait: float = Field(
        default=30.0,
        ge=0,
        description="seconds `serve` keeps retrying a database it cannot reach at start-up",
    )
    db_writers: int | None = Field(
        default=None,
        ge=1,
        le=32,
        description="database writer threads (connections) for normal work; unset: 3 on "
        "PostgreSQL, 1 on SQLite (which takes one writer at a time: more only wait)",
    )
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
    api_tokens: dict[str, ApiToken] = Field(
        default_factory=dict, description="holder name → role and bearer token; empty: closed"
    )
    console_session_key: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="signs console session cookies; unset: random per process (sessions end "
        "at a restart and are not shared between processes)",
    )
    open_api: bool = Field(
        default=False,
        description="development only: with no API tokens, every caller is admin; "
        "`serve` allows it on a loopback host only",
    )
    agency_field_keys: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="sm4k_ key per agency whose profile has [field_encryption]",
    )
    agency_secrets: dict[str, SecretStr] = Field(
        default_factory=dict, description="whsec_ shared secret per agency using v1 (HMAC)"
    )
    rate_limits: dict[str, str] = Field(
        default_factory=dict,
        description='per caller, e.g. {"anonymous": "600/minute", "agency:tax-12366": '
        '"50/second"}; keys anonymous, agency, agency:<id>, hotline, admin, operator, '
        "viewer; 'none' lifts one; unset keys keep their defaults",
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_header_bytes: int = Field(default=32_768, ge=4096, description="all request headers")
    poll_interval: float = Field(default=1.0, gt=0)
    key_refresh_interval: float = Field(
        default=5.0, gt=0, le=300, description="seconds between checks for rotated keys"
    )
    watch_interval: float = Field(
        default=1.0, gt=0, le=60, description="seconds between deadline-watch passes"
    )
    lease_seconds: float = Field(default=60.0, gt=0)
    attempt_seconds: float | None = Field(
        default=None,
        gt=0,
        description="longest a delivery attempt may take from its claim, below lease_seconds;"
        " default 3/4 of lease_seconds",
    )
    refusal_summary_interval: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="seconds: unauthenticated refusals are summarised on record once per party",
    )
    node_id: str = Field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = Field(
        default="json",
        description="`serve`'s log lines: one JSON object each (with order, handoff and "
        "agency ids and the trace), or plain text",
    )
    tracing: bool = Field(
        default=False,
        description="OpenTelemetry traces of intake, database work, delivery attempts and "
        "outbound calls (W3C traceparent sent to agencies), exported over OTLP/HTTP",
    )
    otlp_endpoint: str = Field(
        default="http://127.0.0.1:4318/v1/traces",
        description="where traces go (an OpenTelemetry Collector's OTLP/HTTP traces URL)",
    )
    service_name: str = Field(default="lianxin", description="service.name on every span")
    data_keys: list[SecretStr] = Field(
        default_factory=list,
        description="lxdk_ AES-256 keys for personal data at rest; first encrypts, all decrypt",
    )
    retention_days: int | None = Field(
        default=None, ge=1, description="`lianxin purge` erases personal data older than this"
    )
    mqtt_url: str = Field(default="mqtt://127.0.0.1:1883", description="mqtt:// or mqtts://")
    mqtt_topic_prefix: str = Field(default="lianxin", pattern=r"^[A-Za-z0-9_\-/]+$")
    mqtt_share_group: str = Field(default="lianxin", pattern=r"^[A-Za-z0-9_\-]+$")
    mqtt_session_expiry: int = Field(default=86_400, ge=0, description="seconds")
    mqtt_keepalive: int = Field(default=30, ge=5)
    mqtt_tls_ca: Path | None = None
    mqtt_tls_cert: Path | None = None
    mqtt_tls_key: Path | None = None
    tls_cert: Path | None = Field(default=None, description="server certificate (PEM): HTTPS")
    tls_key: Path | None = Field(default=None, description="its private key (PEM)")
    tls_client_ca: Path | None = Field(
        default=None, description="CA of agency client certificates: mutual TLS on inbound routes"
    )
    mqtt_max_message_bytes: int = Field(default=262_144, ge=1024)
    # signed checkpoints of the audit trail and their witnesses (docs/evidence.md)
    checkpoint_key: SecretStr | None = Field(
        default=None, description="whsk_ Ed25519 key that signs audit checkpoints"
    )
    checkpoint_interval: float = Field(
        default=10.0, gt=0, le=3600, description="seconds: checkpoint at least this often"
    )
    checkpoint_entries: int = Field(
        default=10_000, ge=1, description="checkpoint once this many entries are waiting"
    )
    witness_files: list[Path] = Field(
        default_factory=list, description="append-only JSON-lines files that keep checkpoints"
    )
    witness_urls: list[str] = Field(
        default_factory=list, description="URLs each checkpoint is POSTed to (witnesses)"
    )
    witness_databases: list[SecretStr] = Field(
        default_factory=list,
        description="database URLs (a second database) whose append-only lianxin_witness "
        "table keeps each checkpoint",
    )
    tsa_url: str | None = Field(
        default=None, description="RFC 3161 time-stamping authority for checkpoints"
    )

    @model_validator(mode="after")
    def _attempts_end_inside_their_lease(self) -> Settings:
        if self.attempt_seconds is not None and self.attempt_seconds >= self.lease_seconds:
            raise ValueError(
                f"attempt_seconds ({self.attempt_seconds}) must be below lease_seconds "
                f"({self.lease_seconds}): a delivery attempt must end while it holds its claim"
            )
        return self

    @field_validator("rate_limits")
    @classmethod
    def _limits_parse(cls, value: dict[str, str]) -> dict[str, str]:
        from gateway.api.rate_limits import parse_limits  # the limiter's own parser

        parse_limits(value)
        return value
