"""`lianxin certs init DIR`: a development CA that signs a server and one client per agency."""

from __future__ import annotations

import ipaddress
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway.crypto.certs import agency_of
from gateway.settings import REPO_ROOT


def lianxin(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "LIANXIN_MAPPINGS_DIR": str(REPO_ROOT / "mappings")},
    )


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_init_writes_a_ca_that_signs_a_server_and_one_bound_client_per_agency(
    tmp_path: Path,
) -> None:
    result = lianxin("certs", "init", str(tmp_path / "certs"), "--host", "gw.example.gov.cn")
    assert result.returncode == 0, result.stderr
    root = tmp_path / "certs"
    ca = load(root / "ca.pem")
    server = load(root / "server.pem")
    server.verify_directly_issued_by(ca)
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost", "gw.example.gov.cn"]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    agencies = sorted(p.stem for p in (root / "agencies").glob("*.pem"))
    assert {"tax-12366", "police-110", "customs-12360", "hotline"} <= set(agencies)
    for agency in agencies:
        client = load(root / "agencies" / f"{agency}.pem")
        client.verify_directly_issued_by(ca)
        assert agency_of(client) == agency
        assert client.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == agency
        usage = client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]


def test_every_private_key_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    assert lianxin("certs", "init", str(tmp_path / "certs")).returncode == 0
    keys = list((tmp_path / "certs").rglob("*.key"))
    assert len(keys) == len(list((tmp_path / "certs").rglob("*.pem")))  # one key per certificate
    assert {stat.S_IMODE(key.stat().st_mode) for key in keys} == {0o600}


@pytest.mark.slow
def test_init_never_overwrites_an_existing_ca(tmp_path: Path) -> None:
    assert lianxin("certs", "init", str(tmp_path)).returncode == 0
    before = (tmp_path / "ca.key").read_bytes()
    again = lianxin("certs", "init", str(tmp_path))
    assert again.returncode == 2
    assert "ca.pem exists" in again.stderr and "Traceback" not in again.stderr
    assert (tmp_path / "ca.key").read_bytes() == before
