"""Which connectors sign what they send (and get no signature of the JSON body up front)."""

from __future__ import annotations

import pytest

from connectors.http.rest import RestConnector
from connectors.memory import MemoryConnector
from connectors.mqtt.connector import MqttConnector
from connectors.portal.connector import PortalConnector
from connectors.soap.connector import SoapConnector
from gateway.service.ports.transport import signs_what_it_sends

OWN_WIRE_FORM = {  # connector → whether what it sends is not the handoff's JSON body
    SoapConnector: True,  # the canonical SOAP Body
    PortalConnector: True,  # the board's reply
    RestConnector: False,
    MqttConnector: False,
    MemoryConnector: False,
}


@pytest.mark.parametrize(
    ("connector", "own"), OWN_WIRE_FORM.items(), ids=[c.__name__ for c in OWN_WIRE_FORM]
)
def test_a_connector_signs_what_it_sends_exactly_when_that_is_not_the_json_body(
    connector: type, own: bool
) -> None:
    assert signs_what_it_sends(connector) is own
