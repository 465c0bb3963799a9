"""Fixtures for the mutual-TLS tests: a generated PKI and `lianxin serve` that requires it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from gateway.crypto.signing import generate_ed25519_key, public_text_of
from tests.conftest import MQTT_URL
from tests.e2e.gateway_process import free_port
from tests.integration.security.mtls import Pki, Secured, TlsGateway, make_pki

AGENCIES = ["tax-12366", "city-management", "police-110"]


@pytest.fixture
def mtls_pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "certs", AGENCIES)


@pytest.fixture
def mtls(database_url: str, mtls_pki: Pki, tmp_path: Path) -> Iterator[Secured]:
    keys = {agency: generate_ed25519_key() for agency in AGENCIES}
    settings = {
        "database_url": database_url,
        "hotline_callback_url": "http://127.0.0.1:9/callbacks",  # nobody listens: retries
        "agency_keys": {agency: [public_text_of(key)] for agency, key in keys.items()},
        "signing_keys": [SecretStr(generate_ed25519_key()).get_secret_value()],
        "mqtt_url": MQTT_URL,
        "mqtt_topic_prefix": f"lianxin-test-{secrets.token_hex(4)}",
        "poll_interval": 0.2,
        "refusal_summary_interval": 0.3,
        "tls_cert": str(mtls_pki.issued.server_cert),
        "tls_key": str(mtls_pki.issued.server_key),
        "tls_client_ca": str(mtls_pki.issued.ca),
    }
    gateway = TlsGateway(free_port(), settings, tmp_path / "gateway.log", mtls_pki.issued.ca)
    gateway.start()
    try:
        yield Secured(gateway, mtls_pki, keys, database_url)
    finally:
        gateway.stop()
