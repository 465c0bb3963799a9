"""`lianxin serve` TLS options: nothing without a certificate, mutual TLS with a client CA."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from gateway.api.tls import TlsScopeProtocol, tls_extension, uvicorn_options
from gateway.domain.errors import ConfigError
from gateway.settings import Settings


def test_without_a_certificate_serve_stays_plain_http() -> None:
    assert uvicorn_options(Settings()) == {}
    assert tls_extension(None) is None


def test_a_client_ca_asks_for_certificates_and_adds_the_tls_scope(tmp_path: Path) -> None:
    for name in ("server.pem", "server.key", "ca.pem"):
        (tmp_path / name).write_text("-")
    settings = Settings(
        tls_cert=tmp_path / "server.pem",
        tls_key=tmp_path / "server.key",
        tls_client_ca=tmp_path / "ca.pem",
    )
    options = uvicorn_options(settings)
    assert options["ssl_cert_reqs"] == ssl.CERT_OPTIONAL
    assert options["ssl_ca_certs"] == str(tmp_path / "ca.pem")
    assert options["http"] is TlsScopeProtocol


def test_a_client_ca_without_a_server_certificate_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="need LIANXIN_TLS_CERT"):
        uvicorn_options(Settings(tls_client_ca=tmp_path / "ca.pem"))


def test_a_missing_certificate_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"server\.pem"):
        uvicorn_options(Settings(tls_cert=tmp_path / "server.pem"))
