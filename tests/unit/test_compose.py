from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

COMPOSE = Path(__file__).parents[2] / "compose.yaml"


def test_compose_yaml_follows_the_compose_specification() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def services() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return dict(loaded["services"])


def test_two_gateway_instances_share_one_database_on_distinct_ports() -> None:
    gateways = [services()[name] for name in ("gateway-1", "gateway-2")]
    urls = {g["environment"]["LIANXIN_DATABASE_URL"] for g in gateways}
    assert len(urls) == 1 and "@postgres:5432/" in urls.pop()
    assert {g["environment"]["LIANXIN_NODE_ID"] for g in gateways} == {"gateway-1", "gateway-2"}
    host_ports = [port.rsplit(":", 1)[0] for g in gateways for port in g["ports"]]
    assert len(set(host_ports)) == 2, host_ports
    assert {g["environment"]["LIANXIN_MQTT_SHARE_GROUP"] for g in gateways} == {"lianxin"}


def test_the_second_gateway_starts_after_the_first_has_migrated_the_database() -> None:
    assert services()["gateway-2"]["depends_on"]["gateway-1"]["condition"] == "service_healthy"


def test_the_simulators_run_standalone_and_send_updates_to_both_gateways() -> None:
    command = services()["simulators"]["command"]
    assert command[:2] == ["lianxin", "simulators"]
    gateways = [command[n + 1] for n, word in enumerate(command) if word == "--gateway"]
    assert gateways == ["http://gateway-1:8345", "http://gateway-2:8345"]


def test_every_published_port_is_on_loopback_only() -> None:
    published = [port for service in services().values() for port in service.get("ports", [])]
    assert published and all(port.startswith("127.0.0.1:") for port in published), published
