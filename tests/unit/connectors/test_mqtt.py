"""The MQTT connector's pure parts: options, topics, client ids, the envelope, counting."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

import connectors
from connectors.mqtt.connector import build
from connectors.mqtt.options import (
    MAX_CLIENT_ID,
    Tls,
    broker_address,
    client_id,
    headers_of,
    oversized,
    resolve,
    user_properties,
)
from connectors.simulators.utility import company_codes
from gateway.domain.errors import ConfigError, SignatureError
from gateway.domain.states import Status
from gateway.domain.workorder import WorkOrderIn
from gateway.mapping.loader import load_mappings
from gateway.mapping.profiles import AgencyProfile, MqttPolicy
from gateway.mapping.routing import route
from gateway.service.ports.transport import Outcome
from gateway.settings import REPO_ROOT, Settings

MAPPINGS = load_mappings(REPO_ROOT / "mappings", "routing/catalogue.toml", connectors.TRANSPORTS)
UTILITIES = ("water-utility", "power-utility", "gas-utility", "heat-utility")


def utility(**policy: Any) -> AgencyProfile:
    base = MAPPINGS.agencies["water-utility"]
    return base.model_copy(update={"mqtt": MqttPolicy.model_validate(policy)})


def settings(**values: Any) -> Settings:
    return Settings(node_id="node-1", **values)


def test_unset_profile_options_take_the_deployment_settings() -> None:
    options = resolve(utility(), settings(mqtt_topic_prefix="city", mqtt_session_expiry=600))
    assert (options.host, options.port, options.tls) == ("127.0.0.1", 1883, None)
    assert (options.topic_prefix, options.session_expiry, options.qos) == ("city", 600, 1)
    assert options.max_message_bytes == 262_144


def test_the_profile_mqtt_table_wins_over_the_settings() -> None:
    profile = utility(topic_prefix="gz/12345", share_group="g2", qos=2, keepalive=45)
    options = resolve(profile, settings(mqtt_topic_prefix="city", mqtt_keepalive=30))
    assert (options.topic_prefix, options.share_group, options.qos, options.keepalive) == (
        "gz/12345",
        "g2",
        2,
        45,
    )


def test_topics_follow_prefix_agency_and_share_group() -> None:
    options = resolve(utility(), settings())
    assert options.orders_topic == "lianxin/utilities/water-utility/orders"
    assert options.status_topic == "lianxin/utilities/water-utility/status"
    assert options.shared_status == "$share/lianxin/lianxin/utilities/water-utility/status"
    assert options.receipts_topic == "lianxin/utilities/water-utility/receipts/node-1"


def test_the_client_id_is_stable_per_process_and_agency() -> None:
    assert client_id("lianxin", "water-utility", "node-1") == "lianxin-water-utility-node-1"
    assert resolve(utility(client_id_prefix="gw"), settings()).client_id == (
        "gw-water-utility-node-1"
    )


def test_long_client_ids_are_shortened_but_stay_distinct() -> None:
    one = client_id("lianxin", "water-utility", "a-very-long-kubernetes-pod-name-0123456789-1")
    two = client_id("lianxin", "water-utility", "a-very-long-kubernetes-pod-name-0123456789-2")
    assert len(one) == len(two) == MAX_CLIENT_ID and one != two


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("mqtt://broker.example:1884", ("broker.example", 1884, False)),
        ("mqtt://10.0.0.5", ("10.0.0.5", 1883, False)),
        ("mqtts://broker.example", ("broker.example", 8883, True)),
    ],
)
def test_broker_urls_give_host_port_and_tls(url: str, address: tuple[str, int, bool]) -> None:
    assert broker_address(url) == address


def test_a_broker_url_of_another_scheme_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="mqtt:// or mqtts://"):
        broker_address("http://127.0.0.1:1883")


def test_tls_files_come_from_the_profile() -> None:
    profile = utility(tls={"ca": "/c/ca.pem", "cert": "/c/gw.pem", "key": "/c/gw.key"})
    assert resolve(profile, settings()).tls == Tls("/c/ca.pem", "/c/gw.pem", "/c/gw.key")


def test_an_mqtts_url_turns_tls_on_with_the_system_cas() -> None:
    assert resolve(utility(), settings(mqtt_url="mqtts://b.example")).tls == Tls()


def test_settings_tls_files_apply_when_the_profile_names_none() -> None:
    chosen = settings(mqtt_tls_ca=Path("/c/ca.pem"))
    assert resolve(utility(), chosen).tls == Tls("/c/ca.pem", None, None)


@pytest.mark.parametrize(
    ("policy", "problem"),
    [
        ({"qos": 0}, "qos"),
        ({"tls": {"ca": "/c/ca.pem", "cert": "/c/gw.pem"}}, "both 'cert' and 'key'"),
        ({"topic_prefix": "lianxin/#"}, "topic_prefix"),
        ({"share_group": "a/b"}, "share_group"),
        ({"max_message_bytes": 10}, "max_message_bytes"),
        ({"retain": True}, "retain"),
    ],
)
def test_a_bad_mqtt_table_is_refused(policy: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        MqttPolicy.model_validate(policy)


def test_an_mqtt_table_on_a_rest_agency_is_refused() -> None:
    rest = MAPPINGS.agencies["tax-12366"].model_dump()
    with pytest.raises(ValidationError, match="needs transport 'mqtt'"):
        AgencyProfile.model_validate({**rest, "mqtt": {"qos": 1}})


def test_headers_travel_as_user_properties_and_back() -> None:
    headers = {"webhook-id": "msg_1", "webhook-timestamp": "1", "webhook-signature": "v1a,x"}
    assert headers_of(user_properties(headers)) == headers


def test_a_repeated_user_property_keeps_its_first_value() -> None:
    assert headers_of([("Webhook-Id", "a"), ("webhook-id", "b")]) == {"webhook-id": "a"}


def test_a_message_without_user_properties_has_no_headers() -> None:
    assert headers_of(None) == {}


def test_a_payload_over_the_limit_is_oversized() -> None:
    options = resolve(utility(max_message_bytes=1024), settings())
    assert not oversized(b"x" * 1024, options) and oversized(b"x" * 1025, options)


class Handler:
    """Answers every message with `outcome`, or raises `error`."""

    def __init__(self, outcome: str = "applied", error: Exception | None = None) -> None:
        self.outcome, self.error, self.calls = outcome, error, 0

    async def __call__(self, agency: str, headers: Mapping[str, str], body: bytes) -> Outcome:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return Outcome(self.outcome)


def connector_with(handler: Handler) -> Any:
    connector = build(utility(max_message_bytes=1024), settings())
    connector._handler = handler
    return connector


async def test_a_refused_message_is_counted_and_does_not_escape() -> None:
    connector = connector_with(Handler(error=SignatureError("forged")))
    await connector.receive(b"{}", {}, None)
    assert (connector.refused, connector.applied) == (1, 0)


async def test_an_oversized_message_is_refused_without_reaching_the_handler() -> None:
    handler = Handler()
    connector = connector_with(handler)
    await connector.receive(b"x" * 1025, {}, None)
    assert (connector.refused, handler.calls) == (1, 0)


async def test_applied_and_duplicate_messages_are_counted_apart() -> None:
    connector = connector_with(Handler("applied"))
    await connector.receive(b"{}", {}, None)
    connector._handler = Handler("duplicate")
    await connector.receive(b"{}", {}, None)
    assert (connector.applied, connector.duplicates, connector.refused) == (1, 1, 0)


async def test_a_failure_that_is_not_a_refusal_propagates_so_the_message_is_not_acknowledged() -> (
    None
):
    connector = connector_with(Handler(error=RuntimeError("database down")))
    with pytest.raises(RuntimeError):
        await connector.receive(b"{}", {}, None)
    assert connector.refused == 0


@pytest.mark.parametrize("agency", UTILITIES)
def test_every_utility_has_its_own_code_for_each_step(agency: str) -> None:
    codes = company_codes(MAPPINGS.agencies[agency])
    steps = (Status.signed, Status.in_progress, Status.resolved, Status.returned)
    assert all(codes[s] != s.value for s in steps), codes
    assert MAPPINGS.agencies[agency].status_for(codes[Status.returned]) == Status.returned


def test_the_utilities_use_different_codes() -> None:
    tables = {tuple(sorted(MAPPINGS.agencies[a].status_map)) for a in UTILITIES}
    assert len(tables) == len(UTILITIES)


@pytest.mark.parametrize(
    ("title", "urgency", "agency"),
    [
        ("小区停水两天", "normal", "water-utility"),
        ("路口爆管", "urgent", "water-utility"),
        ("家中电压忽高忽低", "normal", "power-utility"),
        ("整栋楼断电", "normal", "power-utility"),
        ("厨房燃气表漏气", "normal", "gas-utility"),
        ("暖气不热", "urgent", "heat-utility"),
    ],
)
def test_utility_keywords_route_to_the_company(title: str, urgency: str, agency: str) -> None:
    order = WorkOrderIn.model_validate(
        {
            "flow_id": "GZ-1",
            "acceptance_no": "SL-1",
            "category": "help",
            "urgency": urgency,
            "title": title,
            "content": title,
            "received_at": "2026-11-24T08:00:00+08:00",
        }
    )
    assert route(order, MAPPINGS.catalogue, set(MAPPINGS.agencies)).lead == agency
