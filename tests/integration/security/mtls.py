"""A real `lianxin serve` with mutual TLS on loopback, and clients that hold certificates."""

from __future__ import annotations

import json
import secrets
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from sqlalchemy import func, select

from gateway.bootstrap import open_sql_store
from gateway.crypto import certs
from gateway.crypto.signing import MessageSigner, parse_signing_key
from gateway.store.schema import audit_log, inbound_messages
from tests.e2e.gateway_process import GatewayProcess
from tests.integration.api.helpers import order


@dataclass
class Pki:
    """What `certs.init` wrote into a test's tmp dir, and its CA to issue more."""

    root: Path
    issued: certs.Issued
    authority: certs.Authority

    def client(self, agency: str) -> tuple[Path, Path]:
        return self.issued.clients[agency]

    def write(
        self, name: str, pair: tuple[x509.Certificate, ec.EllipticCurvePrivateKey]
    ) -> tuple[Path, Path]:
        """Write an extra certificate and key; their paths."""
        paths = (self.root / f"{name}.pem", self.root / f"{name}.key")
        certs.write_pair(*paths, *pair)
        return paths


def make_pki(root: Path, agencies: list[str]) -> Pki:
    issued = certs.init(root, agencies)
    ca = x509.load_pem_x509_certificate(issued.ca.read_bytes())
    key = load_pem_private_key((root / "ca.key").read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return Pki(root, issued, certs.Authority(ca, key))


class TlsGateway(GatewayProcess):
    """`lianxin serve` over HTTPS; ready once /readyz answers through TLS."""

    def __init__(self, port: int, settings: dict[str, Any], log: Path, ca: Path) -> None:
        super().__init__(port, settings, log)
        self.url = f"https://127.0.0.1:{port}"
        self.ca = ca

    def ready(self) -> bool:
        """True once /readyz answers 200 through TLS."""
        with self.client() as client:
            return client.get("/readyz", timeout=1).status_code == 200

    def client(self, cert: tuple[Path, Path] | None = None) -> httpx.Client:
        """A client that trusts the test CA and presents `cert` (certificate, key) if given."""
        context = ssl.create_default_context(cafile=str(self.ca))
        if cert is not None:
            context.load_cert_chain(*cert)
        return httpx.Client(base_url=self.url, verify=context, timeout=30)


def signed_post(
    client: httpx.Client, path: str, key: str, payload: dict[str, Any], msg_id: str | None = None
) -> httpx.Response:
    """POST `payload` to `path`, signed (Standard Webhooks) with the agency key `key`."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = MessageSigner([parse_signing_key(key)]).headers(
        msg_id or f"m-{secrets.token_hex(4)}", body, None
    )
    return client.post(path, content=body, headers={"content-type": "application/json", **headers})


def update(order_id: str, status: str) -> dict[str, Any]:
    """A status update from an agency about one order."""
    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    return {"type": "status", "order_id": order_id, "status": status, "occurred_at": now}


def refusals(database_url: str, code: str | None = None) -> list[dict[str, Any]]:
    """The audit entries `refused` (with this error code, if given), oldest first."""
    rows = _query(
        database_url,
        select(audit_log.c.party, audit_log.c.detail)
        .where(audit_log.c.event == "refused")
        .order_by(audit_log.c.seq),
    )
    entries = [{"party": party, **json.loads(detail)} for party, detail in rows]
    return [entry for entry in entries if code is None or entry["code"] == code]


def summarised(database_url: str, code: str, timeout: float = 10.0) -> list[str]:
    """The parties of `refusals_summarised` entries counting `code`, once one is written."""

    def parties() -> list[str]:
        rows = _query(
            database_url,
            select(audit_log.c.party, audit_log.c.detail)
            .where(audit_log.c.event == "refusals_summarised")
            .order_by(audit_log.c.seq),
        )
        return [party for party, detail in rows if code in json.loads(detail)["codes"]]

    deadline = time.monotonic() + timeout
    while not (found := parties()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def inbound_count(database_url: str) -> int:
    """How many agency messages were accepted for de-duplication (i.e. reached status sync)."""
    return int(_query(database_url, select(func.count()).select_from(inbound_messages))[0][0])


def _query(database_url: str, statement: Any) -> list[Any]:
    store = open_sql_store(database_url)
    try:
        return list(
            store.run_sync(
                lambda uow: uow.orders.conn.execute(statement).all(),  # type: ignore[attr-defined]
                writes=False,
            )
        )
    finally:
        store.engine.dispose()


@dataclass
class Secured:
    """A gateway that requires agency client certificates, and what the test needs with it."""

    gateway: TlsGateway
    pki: Pki
    keys: dict[str, str]  # each agency's Ed25519 signing key
    database_url: str

    def client(self, agency: str | None = None) -> httpx.Client:
        """An HTTPS client presenting `agency`'s certificate (none if None)."""
        return self.gateway.client(self.pki.client(agency) if agency else None)

    def tax_order(self) -> str:
        """Submit a tax consult (routed to tax-12366) as the hotline, without a certificate."""
        with self.client() as hotline:
            response = hotline.post("/v1/work-orders", json=order(f"GZ-{secrets.token_hex(3)}"))
        response.raise_for_status()
        return str(response.json()["id"])

    def status_of(self, order_id: str) -> str:
        with self.client() as hotline:
            return str(hotline.get(f"/v1/work-orders/{order_id}").json()["status"])
