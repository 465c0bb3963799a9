"""REST, SOAP and portals all reach their agency through the one outbound client, set up
from the profile's [http] table."""

from __future__ import annotations

import pytest

import connectors
from connectors.http.client import OutboundClient
from gateway.mapping.loader import load_mappings
from gateway.mapping.profiles import HttpPolicy, HttpTls
from gateway.settings import REPO_ROOT, Settings

PROFILES = load_mappings(REPO_ROOT / "mappings", "routing/catalogue.toml", connectors.TRANSPORTS)
POLICY = HttpPolicy(idle_seconds=3, max_response_bytes=8192, tls=HttpTls(ca="ca.pem"))


def exchange_of(connector: object) -> object:
    """The exchange a connector sends through, wherever its transport keeps it."""
    soap = getattr(connector, "client", None)
    if soap is not None and hasattr(soap, "transport"):
        return soap.transport.exchange
    return getattr(connector, "exchange", None) or getattr(connector, "client", None)


@pytest.mark.parametrize("agency", ["tax-12366", "police-110", "portal-mayor-mailbox"])
def test_each_http_transport_uses_the_outbound_client_of_its_profile(agency: str) -> None:
    profile = PROFILES.agencies[agency].model_copy(update={"http": POLICY})
    connector = connectors.resolve(profile.transport)(profile, Settings())
    client = exchange_of(connector)
    assert isinstance(client, OutboundClient) and client.policy is POLICY
