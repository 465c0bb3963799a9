"""Fixtures for the MQTT tests: the real Mosquitto, its command-line clients, profiles,
private brokers (never the machine's own one) and TLS files made at test time."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import secrets
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import connectors
from connectors.mqtt.connector import MqttConnector, build
from connectors.mqtt.options import MqttOptions, resolve
from connectors.simulators.broker import PrivateBroker
from gateway.crypto.signing import MessageSigner, generate_ed25519_key, parse_signing_key
from gateway.domain.messages import Delivery
from gateway.mapping.loader import load_mappings
from gateway.mapping.profiles import AgencyProfile, MqttPolicy
from gateway.service.ports.transport import Outcome
from gateway.settings import Settings
from tests.conftest import MQTT_URL, require_mqtt

CLIENTS = "apt-get install mosquitto-clients"


def profile(agency: str, settings: Settings | None = None) -> AgencyProfile:
    """The shipped profile of `agency`."""
    settings = settings or Settings()
    mappings = load_mappings(settings.mappings_dir, settings.catalogue, connectors.TRANSPORTS)
    return mappings.agencies[agency]


def options(settings: Settings, agency: str) -> MqttOptions:
    """The resolved MQTT options (topics, limits) of `agency` under `settings`."""
    return resolve(profile(agency, settings), settings)


def _address(url: str) -> list[str]:
    parsed = urlparse(url)
    return ["-h", parsed.hostname or "127.0.0.1", "-p", str(parsed.port or 1883)]


def _client(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: {CLIENTS}", pytrace=False)
    return found


def mosquitto_pub(
    topic: str,
    body: bytes,
    headers: dict[str, str],
    url: str = MQTT_URL,
    extra: Sequence[str] = (),
) -> None:
    """Publish one message QoS 1 with Debian's client, the headers as MQTT 5 user properties."""
    command = [_client("mosquitto_pub"), "-V", "mqttv5", *_address(url), "-q", "1", "-t", topic]
    for name, value in headers.items():
        command += ["-D", "PUBLISH", "user-property", name, value]
    subprocess.run([*command, *extra, "-s"], input=body, check=True, timeout=10)


def mosquitto_sub(topic: str, count: int = 1, url: str = MQTT_URL) -> subprocess.Popen[bytes]:
    """Debian's client printing `count` messages as `user properties<TAB>payload` (%P, %p)."""
    command = [_client("mosquitto_sub"), "-V", "mqttv5", *_address(url), "-t", topic]
    return subprocess.Popen([*command, "-C", str(count), "-F", "%P\t%p"], stdout=subprocess.PIPE)


@pytest.fixture
def broker_url() -> str:
    """The shared test broker (127.0.0.1:1883 or LIANXIN_TEST_MQTT_URL); fails if it is down."""
    require_mqtt()
    return MQTT_URL


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    """A Mosquitto of this test's own on a free loopback port, with persistence."""
    broker = PrivateBroker(tmp_path / "broker")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


# the connector on its own, with a recording handler in place of status sync

SIGNER = MessageSigner([parse_signing_key(generate_ed25519_key())])


class Recorder:
    """An inbound handler that keeps each message id; fails the first `failures` calls."""

    def __init__(self, failures: int = 0) -> None:
        self.seen: list[str] = []
        self.calls = 0
        self.failures = failures

    async def __call__(self, agency: str, headers: Mapping[str, str], body: bytes) -> Outcome:
        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError("database unavailable")
        self.seen.append(headers["webhook-id"])
        return Outcome("applied")


def settings_for(url: str, prefix: str, node: str) -> Settings:
    return Settings(mqtt_url=url, mqtt_topic_prefix=prefix, node_id=node, mqtt_session_expiry=120)


@pytest.fixture
async def make_connector() -> AsyncIterator[Callable[..., MqttConnector]]:
    """Makes water-utility connectors on one fresh topic prefix; closes them at the end.

    Without `url` they use the shared test broker (and fail if it is down)."""
    prefix = f"lianxin-test-{secrets.token_hex(4)}"
    made: list[MqttConnector] = []

    def make(node: str, url: str | None = None, **policy: object) -> MqttConnector:
        if url is None:
            require_mqtt()
            url = MQTT_URL
        agency = profile("water-utility")
        if policy:
            agency = agency.model_copy(update={"mqtt": MqttPolicy.model_validate(policy)})
        connector = build(agency, settings_for(url, prefix, node))
        made.append(connector)
        return connector

    yield make
    for connector in made:
        await connector.aclose()


async def listening(connector: MqttConnector, handler: Recorder) -> asyncio.Task[None]:
    """Start `connector.listen` and wait until the broker confirmed its subscriptions."""
    task = asyncio.create_task(connector.listen(handler, SIGNER.headers))
    await asyncio.wait_for(connector.subscribed.wait(), 10)
    return task


async def publish(connector: MqttConnector, message_id: str) -> None:
    """One signed update on the utility's status topic, by Debian's mosquitto_pub."""
    body = json.dumps({"n": message_id}).encode()
    headers = SIGNER.headers(message_id, body)
    await asyncio.to_thread(mosquitto_pub, connector.options.status_topic, body, headers)


async def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.05)


async def stopped(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def delivery(timeout: float = 0.5) -> Delivery:
    body = b'{"type": "work_order.transfer"}'
    return Delivery("hnd_1", "water-utility", "", body, SIGNER.headers("hnd_1", body), timeout)


@dataclass(frozen=True)
class TlsFiles:
    """A CA, a broker certificate for 127.0.0.1 and a client certificate, all PEM files."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


@pytest.fixture
def tls_files(tmp_path: Path) -> TlsFiles:
    """Certificates made now, for this test only."""
    folder = tmp_path / "tls"
    folder.mkdir()
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Lianxin test CA")
    ca_cert = (
        _builder(ca_name, ca_name, ca_key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(*(folder / n for n in ("ca.pem", "s.pem", "s.key", "c.pem", "c.key")))
    _write(files.ca, ca_cert)
    for cert_path, key_path, who, san in (
        (files.server_cert, files.server_key, "127.0.0.1", True),
        (files.client_cert, files.client_key, "lianxin-test-client", False),
    ):
        key = ec.generate_private_key(ec.SECP256R1())
        builder = _builder(_name(who), ca_name, key)
        if san:
            ip = x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
            builder = builder.add_extension(x509.SubjectAlternativeName([ip]), critical=False)
        _write(cert_path, builder.sign(ca_key, hashes.SHA256()))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return files


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(
    subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey
) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
    )


def _write(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
