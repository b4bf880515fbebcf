#!/usr/bin/env bash
# The test command: installs what the tests need, then lint and the whole suite.
# Tests start their own PostgreSQL and Mosquitto on free loopback ports and stop them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh --test
.venv/bin/ruff check kyzconsole tests bench
.venv/bin/ruff format --check kyzconsole tests bench
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
