"""Inbound agency traffic with mutual TLS: only the agency's own certificate gets through."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
from pathlib import Path

import httpx
import pytest

from gateway.crypto import certs
from tests.integration.security.mtls import (
    Secured,
    inbound_count,
    refusals,
    signed_post,
    summarised,
    update,
)


def over_tls(mtls: Secured, cert: tuple[Path, Path]) -> str:
    """What a raw TLS client presenting `cert` gets: the start of an HTTP answer, or the error.

    The server closes the connection without sending an alert (uvicorn's TLS transport
    aborts), and with TLS 1.3 it judges the client certificate after the client has
    finished its side of the handshake, so the refusal surfaces at the first read.
    """
    context = ssl.create_default_context(cafile=str(mtls.pki.issued.ca))
    context.load_cert_chain(*cert)
    with socket.create_connection(("127.0.0.1", mtls.gateway.port), 5) as raw:
        try:
            with context.wrap_socket(
                raw, server_hostname="127.0.0.1", suppress_ragged_eofs=False
            ) as tls:
                tls.sendall(b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
                return tls.recv(12).decode()
        except ssl.SSLError as exc:
            return type(exc).__name__


def test_the_agency_s_own_certificate_and_signature_are_applied(mtls: Secured) -> None:
    order_id = mtls.tax_order()
    with mtls.client("tax-12366") as tax:
        response = signed_post(
            tax, "/v1/inbound/tax-12366", mtls.keys["tax-12366"], update(order_id, "已签收")
        )
    assert (response.status_code, response.json()["result"]) == (200, "applied")
    assert mtls.status_of(order_id) == "signed"


def test_a_request_without_a_client_certificate_is_a_401_summarised_and_not_applied(
    mtls: Secured,
) -> None:
    order_id = mtls.tax_order()
    with mtls.client(None) as anonymous:
        response = signed_post(
            anonymous,
            "/v1/inbound/tax-12366",
            mtls.keys["tax-12366"],
            update(order_id, "已签收"),
        )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "client_certificate_required"
    assert summarised(mtls.database_url, "client_certificate_required") == ["tax-12366"]
    assert refusals(mtls.database_url) == [], "unauthenticated: no entry of its own"
    assert inbound_count(mtls.database_url) == 0
    assert mtls.status_of(order_id) == "received"


def test_another_agency_s_certificate_is_a_403_summarised_even_with_a_valid_signature(
    mtls: Secured,
) -> None:
    order_id = mtls.tax_order()
    with mtls.client("city-management") as city:  # signs with tax's own (stolen) key
        response = signed_post(
            city, "/v1/inbound/tax-12366", mtls.keys["tax-12366"], update(order_id, "已签收")
        )
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "certificate_mismatch"
    assert "bound to 'city-management', not to 'tax-12366'" in error["message"]
    assert summarised(mtls.database_url, "certificate_mismatch") == ["tax-12366"]
    assert refusals(mtls.database_url) == []
    assert mtls.status_of(order_id) == "received"


def test_another_agency_s_certificate_is_refused_on_the_soap_endpoint_before_parsing(
    mtls: Secured,
) -> None:
    with mtls.client("tax-12366") as tax:
        response = tax.post("/soap/police-110", content=b"<not-even-xml")
    assert response.status_code == 403
    assert "certificate_mismatch" in response.text and "Fault" in response.text
    assert summarised(mtls.database_url, "certificate_mismatch") == ["police-110"]


def test_an_agency_updating_an_order_not_addressed_to_it_is_a_403_audited_and_not_applied(
    mtls: Secured,
) -> None:
    order_id = mtls.tax_order()  # addressed to tax-12366 only
    with mtls.client("city-management") as city:  # its own certificate and its own key
        response = signed_post(
            city,
            "/v1/inbound/city-management",
            mtls.keys["city-management"],
            update(order_id, "accepted"),
        )
    assert (response.status_code, response.json()["error"]["code"]) == (403, "not_addressed")
    assert [r["party"] for r in refusals(mtls.database_url, "not_addressed")] == ["city-management"]
    assert mtls.status_of(order_id) == "received"


def test_an_expired_client_certificate_fails_the_handshake_and_stores_nothing(
    mtls: Secured,
) -> None:
    order_id = mtls.tax_order()
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    expired = mtls.pki.write(
        "expired",
        mtls.pki.authority.client(
            "tax-12366", not_before=past - dt.timedelta(days=365), not_after=past
        ),
    )
    with (
        mtls.gateway.client(expired) as tax,
        pytest.raises(httpx.TransportError) as refused,
    ):
        signed_post(
            tax, "/v1/inbound/tax-12366", mtls.keys["tax-12366"], update(order_id, "已签收")
        )
    assert refused.type in (httpx.ReadError, httpx.RemoteProtocolError, httpx.ConnectError)
    assert over_tls(mtls, expired) == "SSLEOFError"  # no HTTP ever reached the app
    assert over_tls(mtls, mtls.pki.client("tax-12366")) == "HTTP/1.1 200"
    assert refusals(mtls.database_url) == []  # the app never saw the request
    assert inbound_count(mtls.database_url) == 0
    assert mtls.status_of(order_id) == "received"


def test_a_certificate_from_another_ca_fails_the_handshake_and_stores_nothing(
    mtls: Secured,
) -> None:
    order_id = mtls.tax_order()
    foreign = mtls.pki.write("foreign", certs.new_authority("Elsewhere CA").client("tax-12366"))
    with (
        mtls.gateway.client(foreign) as tax,
        pytest.raises(httpx.TransportError) as refused,
    ):
        signed_post(
            tax, "/v1/inbound/tax-12366", mtls.keys["tax-12366"], update(order_id, "已签收")
        )
    assert refused.type in (httpx.ReadError, httpx.RemoteProtocolError, httpx.ConnectError)
    assert over_tls(mtls, foreign) == "SSLEOFError"  # no HTTP ever reached the app
    assert over_tls(mtls, mtls.pki.client("tax-12366")) == "HTTP/1.1 200"
    assert refusals(mtls.database_url) == []  # the app never saw the request
    assert inbound_count(mtls.database_url) == 0
    assert mtls.status_of(order_id) == "received"
