"""`lianxin serve` refuses a bad configuration with one clear line, before serving."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.settings import REPO_ROOT


def serve(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "LIANXIN_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "LIANXIN_OPEN_API": "true",  # past the token check, to the setting each test names
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", "serve", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=environment,
    )


@pytest.mark.slow
def test_a_missing_hotline_callback_is_named(tmp_path: Path) -> None:
    result = serve(tmp_path)
    assert result.returncode == 2
    assert "LIANXIN_HOTLINE_CALLBACK_URL" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_malformed_json_in_a_setting_is_named(tmp_path: Path) -> None:
    result = serve(tmp_path, LIANXIN_AGENCY_ENDPOINTS="{bad")
    assert result.returncode == 2
    assert "agency_endpoints" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_broken_mapping_file_is_named(tmp_path: Path) -> None:
    mappings = tmp_path / "mappings"
    (mappings / "agencies").mkdir(parents=True)
    (mappings / "routing").mkdir()
    (mappings / "agencies" / "hotline.toml").write_text(
        'id = "hotline"\nname = "12345"\ntransport = "rest"\nconcurency = 4\n', encoding="utf-8"
    )
    result = serve(
        tmp_path,
        LIANXIN_MAPPINGS_DIR=str(mappings),
        LIANXIN_HOTLINE_CALLBACK_URL="http://127.0.0.1:9/cb",
    )
    assert result.returncode == 2
    assert "hotline.toml: concurency: Extra inputs are not permitted" in result.stderr


@pytest.mark.slow
def test_a_shared_secret_among_our_own_signing_keys_is_named(tmp_path: Path) -> None:
    result = serve(
        tmp_path,
        LIANXIN_HOTLINE_CALLBACK_URL="http://127.0.0.1:1/callbacks",
        LIANXIN_SIGNING_KEYS='["whsec_c2VjcmV0c2VjcmV0c2VjcmV0"]',
    )
    assert result.returncode == 2
    assert "LIANXIN_SIGNING_KEYS" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_an_sm3_agency_without_its_secret_or_field_key_is_named(tmp_path: Path) -> None:
    mappings = tmp_path / "mappings"
    shutil.copytree(REPO_ROOT / "mappings", mappings)
    profile = mappings / "agencies" / "tax-12366.toml"
    profile.write_text(
        profile.read_text(encoding="utf-8").replace(
            '[signing]\nscheme = "v1a"',
            '[signing]\nscheme = "v1sm3"\n\n[field_encryption]\nfields = ["lxr.dh"]',
        ),
        encoding="utf-8",
    )
    common = {
        "LIANXIN_HOTLINE_CALLBACK_URL": "http://127.0.0.1:1/callbacks",
        "LIANXIN_MAPPINGS_DIR": str(mappings),
    }
    no_field_key = serve(tmp_path, **common)
    common["LIANXIN_AGENCY_FIELD_KEYS"] = '{"tax-12366": "sm4k_MDEyMzQ1Njc4OWFiY2RlZg=="}'
    no_secret = serve(tmp_path, **common)
    wrong_kind = serve(
        tmp_path,
        **common,
        LIANXIN_AGENCY_SECRETS='{"tax-12366": "whsec_c2VjcmV0c2VjcmV0c2VjcmV0"}',
    )
    assert "LIANXIN_AGENCY_FIELD_KEYS" in no_field_key.stderr
    assert "LIANXIN_AGENCY_SECRETS has no secret" in no_secret.stderr
    assert "must be whsm3_" in wrong_kind.stderr
    for result in (no_secret, wrong_kind, no_field_key):
        assert result.returncode == 2 and "Traceback" not in result.stderr


@pytest.mark.slow
def test_serving_without_a_data_key_is_refused(tmp_path: Path) -> None:
    result = serve(tmp_path, LIANXIN_HOTLINE_CALLBACK_URL="http://127.0.0.1:1/callbacks")
    assert result.returncode == 2
    assert "LIANXIN_DATA_KEYS is not set" in result.stderr and "Traceback" not in result.stderr
