"""The import contracts ([tool.importlinter] in pyproject.toml) hold, and they would catch a
store module importing the service layer: checked on a copy of the tree in a temporary
directory, so the working tree is never touched."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _copy_tree(to: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("gateway", "connectors"):
        shutil.copytree(ROOT / package, to / package, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", to / "pyproject.toml")
    return to


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    # The copy comes first on the path, before the editable install of the working tree.
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not LINT_IMPORTS.exists():
        pytest.fail(f"{LINT_IMPORTS} is missing: install the test extras (./dev.sh setup)")
    return _copy_tree(tmp_path_factory.mktemp("tree"))


def test_the_untouched_tree_keeps_every_contract(tree: Path) -> None:
    result = _lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


def test_a_store_module_importing_the_service_layer_breaks_a_contract(tmp_path: Path) -> None:
    tree = _copy_tree(tmp_path)
    leak = tree / "gateway" / "store" / "leak.py"
    leak.write_text("from gateway.service.delivery.dispatcher import Dispatcher  # noqa: F401\n")
    result = _lint(tree)
    assert result.returncode != 0, result.stdout
    assert "gateway.store.leak -> gateway.service.delivery.dispatcher" in result.stdout
    assert "The store imports of the service layer only its ports BROKEN" in result.stdout
