#!/usr/bin/env bash
# Installs kyzconsole and runs its main job on the embedded default database:
# the example day of intervals goes through validation into kyz.db, exactly once.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
data_dir="${KYZ_DATA_DIR:-$PWD/.kyz-demo}"
echo "quickstart: replaying examples/payloads.jsonl into $data_dir/kyz.db"
status=0
.venv/bin/kyzconsole --data-dir "$data_dir" replay examples/payloads.jsonl || status=$?
# The example holds two bad lines on purpose: exit 1 means they were quarantined.
[ "$status" -le 1 ] || exit "$status"
echo "quickstart: run it again and every line is a duplicate; nothing is written twice:"
.venv/bin/kyzconsole --data-dir "$data_dir" replay examples/payloads.jsonl || true
