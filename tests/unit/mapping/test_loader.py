from __future__ import annotations

from pathlib import Path

import pytest

from connectors import TRANSPORTS
from gateway.domain.errors import MappingError
from gateway.mapping.loader import load_mappings

REPO_MAPPINGS = Path(__file__).parents[3] / "mappings"
AGENCY = 'id = "tax"\nname = "税务"\ntransport = "rest"\n'
CATALOGUE = 'version = "1"\n[[rules]]\nid = "r1"\nagencies = ["tax"]\n'


def tree(tmp_path: Path, agency: str = AGENCY, catalogue: str = CATALOGUE) -> Path:
    (tmp_path / "agencies").mkdir()
    (tmp_path / "routing").mkdir()
    (tmp_path / "agencies" / "tax.toml").write_text(agency, encoding="utf-8")
    (tmp_path / "routing" / "catalogue.toml").write_text(catalogue, encoding="utf-8")
    return tmp_path


def load(root: Path) -> None:
    load_mappings(root, "routing/catalogue.toml", ["rest", "memory"])


def test_the_shipped_mappings_are_valid() -> None:
    mappings = load_mappings(REPO_MAPPINGS, "routing/catalogue.toml", TRANSPORTS)
    assert {"hotline", "tax-12366", "city-management", "police-110"} <= set(mappings.agencies)


def test_a_rule_naming_an_unknown_agency_names_file_entry_and_suggestion(tmp_path: Path) -> None:
    catalogue = 'version = "1"\n[[rules]]\nid = "r1"\nagencies = ["taxx"]\n'
    with pytest.raises(MappingError) as caught:
        load(tree(tmp_path, catalogue=catalogue))
    message = str(caught.value)
    assert "catalogue.toml" in message and "rules[0] (id 'r1')" in message
    assert "did you mean 'tax'" in message


def test_an_unknown_transport_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match=r"tax.toml: transport: .*did you mean 'rest'"):
        load(tree(tmp_path, agency=AGENCY.replace('"rest"', '"resst"')))


def test_a_negative_retry_delay_names_its_place(tmp_path: Path) -> None:
    agency = AGENCY + "[retry]\nschedule = [0, -5]\n"
    with pytest.raises(MappingError, match=r"tax.toml: retry.schedule: .*>= 0"):
        load(tree(tmp_path, agency=agency))


def test_a_typo_in_a_key_is_an_error_not_a_default(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match=r"tax.toml: timout: Extra inputs"):
        load(tree(tmp_path, agency=AGENCY + "timout = 5\n"))


def test_invalid_toml_is_reported_with_the_file(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match=r"tax.toml: not valid TOML"):
        load(tree(tmp_path, agency=AGENCY + "name = \n"))


def test_a_private_key_in_a_mapping_file_is_refused(tmp_path: Path) -> None:
    agency = AGENCY + '[inbound]\npublic_keys = ["whsec_c2VjcmV0"]\n'
    with pytest.raises(MappingError, match="only public keys"):
        load(tree(tmp_path, agency=agency))


def test_a_payload_rule_must_name_an_existing_code_table(tmp_path: Path) -> None:
    agency = AGENCY + '[payload]\nsqlx = { source = "category", codes = "nope" }\n'
    with pytest.raises(MappingError, match="no code table named 'nope'"):
        load(tree(tmp_path, agency=agency))


def test_a_deadline_policy_without_a_category_names_it(tmp_path: Path) -> None:
    root = tree(tmp_path)
    (root / "deadlines").mkdir()
    (root / "deadlines" / "default.toml").write_text(
        'id = "default"\nacknowledge_minutes = 60\n[resolve_working_days]\nconsult = 1\n',
        encoding="utf-8",
    )
    with pytest.raises(MappingError, match=r"default.toml: resolve_working_days: .*no limit for"):
        load(root)


def test_two_default_deadline_policies_are_refused(tmp_path: Path) -> None:
    root = tree(tmp_path)
    (root / "deadlines").mkdir()
    policy = (
        "acknowledge_minutes = 60\n[resolve_working_days]\nconsult = 1\nhelp = 1\n"
        "complaint = 1\nreport = 1\nsuggestion = 1\n"
    )
    for name in ("a", "b"):
        (root / "deadlines" / f"{name}.toml").write_text(
            f'id = "{name}"\n' + policy, encoding="utf-8"
        )
    with pytest.raises(MappingError, match="exactly one policy without divisions"):
        load(root)
