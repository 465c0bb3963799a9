"""The pure half of the MQTT connector: one utility's resolved options, topics and envelope.

Options come from the profile's optional `[mqtt]` table; what it leaves unset comes from
the deployment's LIANXIN_MQTT_* settings (the broker URL always does). The envelope is
the Standard Webhooks headers carried as MQTT 5 user properties, the JSON body as payload.
No I/O here, so all of it is unit-tested without a broker.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlparse

from gateway.domain.errors import ConfigError
from gateway.mapping.profiles import AgencyProfile, MqttPolicy
from gateway.settings import Settings

ENVELOPE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
MAX_CLIENT_ID = 64  # brokers must accept 23; Mosquitto takes more, but keep ids readable
DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
T = TypeVar("T")


@dataclass(frozen=True)
class Tls:
    """TLS files; all None with `enabled` means the system CAs and no client certificate."""

    ca: str | None = None
    cert: str | None = None
    key: str | None = None


@dataclass(frozen=True)
class MqttOptions:
    """Everything one utility's MQTT session needs, resolved once at start-up."""

    agency: str
    host: str
    port: int
    tls: Tls | None
    client_id: str
    topic_prefix: str
    share_group: str
    qos: int
    session_expiry: int
    keepalive: int
    max_message_bytes: int
    node_id: str

    @property
    def base(self) -> str:
        """`{prefix}/utilities/{agency}`."""
        return f"{self.topic_prefix}/utilities/{self.agency}"

    @property
    def orders_topic(self) -> str:
        """Where Lianxin publishes this utility's orders."""
        return f"{self.base}/orders"

    @property
    def status_topic(self) -> str:
        """Where the utility publishes its progress."""
        return f"{self.base}/status"

    @property
    def shared_status(self) -> str:
        """The status topic as a shared subscription: the group's processes split it."""
        return f"$share/{self.share_group}/{self.status_topic}"

    @property
    def receipts_topic(self) -> str:
        """This process's response topic: the utility's receipts for our orders come here."""
        return f"{self.base}/receipts/{self.node_id}"


def broker_address(url: str) -> tuple[str, int, bool]:
    """(host, port, tls) of an mqtt:// or mqtts:// URL."""
    parsed = urlparse(url)
    if parsed.scheme not in DEFAULT_PORTS:
        raise ConfigError(f"LIANXIN_MQTT_URL must be mqtt:// or mqtts://, not '{url}'")
    if not parsed.hostname:
        raise ConfigError(f"LIANXIN_MQTT_URL has no host: '{url}'")
    return parsed.hostname, parsed.port or DEFAULT_PORTS[parsed.scheme], parsed.scheme == "mqtts"


def client_id(prefix: str, agency: str, node_id: str) -> str:
    """`{prefix}-{agency}-{node}`: stable per process, so its persistent session survives."""
    full = f"{prefix}-{agency}-{node_id}"
    if len(full) <= MAX_CLIENT_ID:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:16]  # distinct nodes stay distinct
    return f"{full[: MAX_CLIENT_ID - 17]}-{digest}"


def resolve(profile: AgencyProfile, settings: Settings) -> MqttOptions:
    """The options of `profile`'s session: its [mqtt] table over the deployment settings."""
    policy = profile.mqtt or MqttPolicy()
    host, port, tls_url = broker_address(settings.mqtt_url)
    return MqttOptions(
        agency=profile.id,
        host=host,
        port=port,
        tls=_tls(policy, settings, tls_url),
        client_id=client_id(policy.client_id_prefix, profile.id, settings.node_id),
        topic_prefix=_pick(policy.topic_prefix, settings.mqtt_topic_prefix),
        share_group=_pick(policy.share_group, settings.mqtt_share_group),
        qos=policy.qos,
        session_expiry=_pick(policy.session_expiry, settings.mqtt_session_expiry),
        keepalive=_pick(policy.keepalive, settings.mqtt_keepalive),
        max_message_bytes=_pick(policy.max_message_bytes, settings.mqtt_max_message_bytes),
        node_id=settings.node_id,
    )


def _pick(given: T | None, default: T) -> T:
    return default if given is None else given


def _tls(policy: MqttPolicy, settings: Settings, tls_url: bool) -> Tls | None:
    if policy.tls is not None:
        return Tls(policy.tls.ca, policy.tls.cert, policy.tls.key)
    if tls_url or settings.mqtt_tls_ca is not None:
        ca, cert, key = settings.mqtt_tls_ca, settings.mqtt_tls_cert, settings.mqtt_tls_key
        return Tls(_text(ca), _text(cert), _text(key))
    return None


def _text(path: Path | None) -> str | None:
    return None if path is None else str(path)


def user_properties(headers: Mapping[str, str]) -> list[tuple[str, str]]:
    """The headers as MQTT 5 user properties, under the same names: the signed envelope
    and, when tracing is on, the W3C `traceparent` and `tracestate` of the outbound call."""
    return [(name, value) for name, value in headers.items()]


def headers_of(pairs: Iterable[tuple[str, str]] | None) -> dict[str, str]:
    """MQTT 5 user properties as headers; a repeated name keeps its first value."""
    headers: dict[str, str] = {}
    for name, value in pairs or ():
        headers.setdefault(str(name).lower(), str(value))
    return headers


def oversized(payload: bytes, options: MqttOptions) -> bool:
    """True when a received payload exceeds the utility's limit."""
    return len(payload) > options.max_message_bytes
