#!/usr/bin/env bash
# Set-up and entry point for people and CI: `./dev.sh demo` runs the demo, `./dev.sh test`
# runs every test (what CI runs), `./dev.sh test-fast` the fast tier (README, "Tests").
# Each creates .venv and installs what it needs on first use (safe to run again: installs
# only when pyproject.toml changed).
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}

ensure_python() {
  if ! command -v "$PYTHON" >/dev/null; then
    echo "dev.sh: $PYTHON not found; install Python 3.11+ (apt-get install python3)" >&2; exit 2
  fi
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "dev.sh: Python 3.11+ is required, $PYTHON is $("$PYTHON" -V)" >&2; exit 2; }
}

ensure_venv() {
  [ -x .venv/bin/python ] && return
  if ! "$PYTHON" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get install -y -q python3-venv >/dev/null
      "$PYTHON" -m venv .venv
    else
      echo "dev.sh: cannot create a virtual environment; run: sudo apt-get install python3-venv" >&2
      exit 2
    fi
  fi
}

ensure_installed() {
  local stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
  [ -f "$stamp" ] && return
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test]"
  rm -f .venv/.installed-* && touch "$stamp"
}

setup() { ensure_python; ensure_venv; ensure_installed; }

# The console's browser tests drive Debian's chromium (never `playwright install`: no downloads).
ensure_chromium() {
  [ -x /usr/bin/chromium ] && return
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y -q chromium >/dev/null \
      || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
  else
    echo "dev.sh: /usr/bin/chromium is missing; the console tests need it: sudo apt-get install chromium" >&2
  fi
}

case "${1:-}" in
  demo) shift; setup; exec .venv/bin/lianxin demo "$@" ;;
  # Every test CI needs, on LIANXIN_TEST_WORKERS processes (4: the tests mostly wait on
  # loopback servers and databases; `-n 0` after `test` runs them in one process).
  test) shift; setup; ensure_chromium
        .venv/bin/ruff check gateway connectors tests bench
        .venv/bin/ruff format --check gateway connectors tests bench
        .venv/bin/mypy
        .venv/bin/lint-imports  # the layer contracts ([tool.importlinter] in pyproject.toml)
        exec .venv/bin/python -m pytest -n "${LIANXIN_TEST_WORKERS:-4}" --dist loadgroup "$@" ;;
  # The fast tier: no load or slow tests, no lint; SQLite except where the store is the subject.
  test-fast) shift; setup; ensure_chromium
        exec .venv/bin/python -m pytest -n "${LIANXIN_TEST_WORKERS:-4}" --dist loadgroup \
          -m "not slow and not load" "$@" ;;
  setup) setup ;;
  *) echo "usage: ./dev.sh demo [--keep DIR] | test [pytest args] | test-fast [pytest args] | setup" >&2
     exit 2 ;;
esac
