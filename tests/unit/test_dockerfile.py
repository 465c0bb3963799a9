"""The production image's properties, read from the Dockerfile (Docker cannot build here).

Non-root, dependencies in their own layer before the source, a regular install, a health
check with an interval and a start period.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
SOURCE = ("gateway", "connectors")


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction: continuations joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    lines = [line.strip() for line in joined.splitlines()]
    pairs = [line.split(None, 1) for line in lines if line and not line.startswith("#")]
    return [(p[0].upper(), p[1] if len(p) > 1 else "") for p in pairs]


def stages(text: str) -> list[list[tuple[str, str]]]:
    """The instructions of each build stage, in order."""
    found: list[list[tuple[str, str]]] = []
    for instruction in instructions(text):
        if instruction[0] == "FROM":
            found.append([])
        if found:
            found[-1].append(instruction)
    return found


DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
FINAL = stages(DOCKERFILE)[-1]


def _first(stage: list[tuple[str, str]], matches: str) -> int:
    return next(n for n, (op, args) in enumerate(stage) if re.search(matches, f"{op} {args}"))


def test_the_final_stage_runs_as_a_named_unprivileged_user() -> None:
    users = [args.split(":")[0] for op, args in FINAL if op == "USER"]
    assert users and users[-1] not in ("root", "0"), users
    assert _first(FINAL, r"^USER") > _first(FINAL, r"pip install")  # installs as root, runs not


def test_the_health_check_probes_healthz_with_an_interval_and_a_start_period() -> None:
    checks = [args for op, args in FINAL if op == "HEALTHCHECK"]
    assert len(checks) == 1
    assert re.search(r"--interval=\d+s", checks[0]) and re.search(r"--start-period=\d+s", checks[0])
    assert "/healthz" in checks[0]


def test_nothing_is_installed_in_editable_mode() -> None:
    runs = " ".join(args for stage in stages(DOCKERFILE) for op, args in stage if op == "RUN")
    assert "pip install" in runs
    assert not re.search(r"pip install[^&]*(\s-e\s|--editable)", runs), runs


def test_dependencies_are_installed_before_any_source_is_copied() -> None:
    for stage in stages(DOCKERFILE):
        copies_source = [
            n
            for n, (op, args) in enumerate(stage)
            if op == "COPY" and any(re.search(rf"(^|\s){s}\b", args) for s in SOURCE)
        ]
        if not copies_source:
            continue
        dependencies = _first(stage, r"pip (wheel|install)\b.*-r requirements\.txt")
        assert dependencies < min(copies_source), stage
    deps = _first(FINAL, r"pip install\b.*-r ")
    app = _first(FINAL, r"pip install\b.*--no-deps")
    assert deps < app  # the final image: dependency layer first, then Lianxin's wheel


def test_every_path_the_image_copies_from_the_checkout_exists() -> None:
    for stage in stages(DOCKERFILE):
        for op, args in stage:
            if op == "COPY" and not args.startswith("--from"):
                *sources, _target = args.split()
                assert all((ROOT / source).exists() for source in sources), args


def test_the_dockerignore_keeps_the_copied_paths_in_the_context() -> None:
    ignored = {
        line.strip().strip("/")
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert not ignored & {"pyproject.toml", "README.md", "gateway", "connectors", "mappings"}
    assert {".venv", ".git", ".env"} <= ignored
