"""`.env.example` lists what a production deployment sets, and every name in it is real."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from gateway.settings import Settings

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / ".env.example"
COMPOSE_ONLY = {"LIANXIN_DB_PASSWORD", "LIANXIN_SIMULATOR_KEYS"}
SERVE_NEEDS = {
    "LIANXIN_API_TOKENS",
    "LIANXIN_HOTLINE_CALLBACK_URL",
    "LIANXIN_DATA_KEYS",
    "LIANXIN_SIGNING_KEYS",
    "LIANXIN_DATABASE_URL",
}


def assignments(*, commented: bool) -> dict[str, str]:
    pattern = r"^#\s*(LIANXIN_[A-Z0-9_]+)=(.*)$" if commented else r"^(LIANXIN_[A-Z0-9_]+)=(.*)$"
    text = EXAMPLE.read_text(encoding="utf-8")
    return dict(re.findall(pattern, text, flags=re.MULTILINE))


def test_every_name_is_a_setting_or_a_compose_variable() -> None:
    fields = {f"LIANXIN_{name.upper()}" for name in Settings.model_fields}
    names = set(assignments(commented=False)) | set(assignments(commented=True))
    assert names - fields - COMPOSE_ONLY == set()


def test_what_serve_refuses_to_start_without_is_set() -> None:
    assert set(assignments(commented=False)) >= SERVE_NEEDS


def test_every_variable_compose_requires_is_set() -> None:
    text = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    yaml.safe_load(text)  # still YAML
    required = set(re.findall(r"\$\{(LIANXIN_[A-Z0-9_]+):\?", text))
    assert required and required <= set(assignments(commented=False))


def test_the_example_parses_as_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(f"LIANXIN_{name.upper()}", raising=False)
    for name, value in assignments(commented=True).items():
        monkeypatch.setenv(name, value)  # the commented-out ones parse too
    settings = Settings(_env_file=EXAMPLE)  # type: ignore[call-arg]
    assert {h.role for h in settings.api_tokens.values()} == {"hotline", "admin"}
    assert settings.hotline_callback_url and settings.data_keys and settings.signing_keys
    assert settings.database_wait == 30 and settings.retention_days == 180
