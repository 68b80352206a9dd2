#!/usr/bin/env bash
# Installs the project and its test tools into .venv/ at the repo root. Safe to run again: it only
# reinstalls when pyproject.toml changed. Pass --test to also install the Debian packages the tests need.
set -euo pipefail
cd "$(dirname "$0")/.."

# torch==2.13.0 resolves to a local CPU wheel for CPython 3.11 on these machines.
python=$(command -v python3.11 || command -v python3)
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
stamp=".venv/.installed-$(cat pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e '.[test]'
    rm -f .venv/.installed-*
    touch "$stamp"
fi

# --test: the test suite's Debian packages. Playwright drives Debian's chromium (its own browser
# download is not reachable here); the unanswerable-question generator reads WordNet's antonyms.
if [ "${1:-}" = "--test" ] && { [ ! -x /usr/bin/chromium ] || [ ! -f /usr/share/wordnet/data.adj ]; }; then
    sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium wordnet-base >/dev/null
fi
