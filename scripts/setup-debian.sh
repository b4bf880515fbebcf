#!/usr/bin/env bash
# Installs what kyzconsole needs on Debian 12 (bookworm): the ODBC drivers, the servers the
# tests start, and a virtualenv in .venv with the package. Safe to run again.
#   scripts/setup-debian.sh          runtime only
#   scripts/setup-debian.sh --test   also the test tools
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
    python3 python3-venv python3-pip  # Python 3.11 on Debian 12
    unixodbc libsqliteodbc            # the embedded default: SQLite through ODBC
    odbc-postgresql postgresql        # PostgreSQL target and the tests' real server
    mosquitto mosquitto-clients       # the MQTT broker and mosquitto_pub/sub
    openssl ca-certificates           # TLS certificates for the broker (and the tests' CA)
    tmux                              # a real terminal for the console's hang-up test
)
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

python="${PYTHON:-python3}"
"$python" -c 'import sys; assert sys.version_info >= (3, 11), sys.version' \
    || { echo "setup: kyzconsole needs Python 3.11 or newer ($python is older)" >&2; exit 2; }
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if [ "${1:-}" = "--test" ]; then
    .venv/bin/python -m pip install -q -e ".[dev]"
else
    .venv/bin/python -m pip install -q -e .
fi
echo "setup: done; kyzconsole is .venv/bin/kyzconsole"
