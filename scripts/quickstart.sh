#!/usr/bin/env bash
# Installs kyzconsole and runs its main job on the embedded default database.
#   On a terminal: `kyzconsole demo` - a private Mosquitto, the PLC simulator publishing a day
#   of intervals (a few bad and duplicate ones mixed in) and the console ingesting them;
#   press q to stop it all.
#   Otherwise, or with --headless: the same job unattended - the headless service writes the
#   simulated day into .kyz-demo/data/kyz.db and `kyzconsole status` reports at the end.
# Everything it starts, it stops.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
if [ -t 0 ] && [ -t 1 ] && [ "${1:-}" != "--headless" ]; then
    exec .venv/bin/kyzconsole demo
fi

demo="$PWD/.kyz-demo"
rm -rf "$demo"  # a fresh demo each time: the simulator's day moves with the clock
mkdir -p "$demo/mosquitto"
port=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$demo/mosquitto/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
persistence true
persistence_location $demo/mosquitto/
max_queued_messages 100000
log_dest file $demo/mosquitto/mosquitto.log
$( [ "$(id -u)" -eq 0 ] && echo "user root" )
CONF
mosquitto -c "$demo/mosquitto/mosquitto.conf" &
broker=$!
service=""
cleanup() {
    [ -n "$service" ] && kill -TERM "$service" 2>/dev/null && wait "$service" 2>/dev/null || true
    kill "$broker" 2>/dev/null || true
}
trap cleanup EXIT

export KYZ_DATA_DIR="$demo/data" KYZ_LOG_DIR="$demo/logs"
export KYZ_MQTT_HOST=127.0.0.1 KYZ_MQTT_PORT="$port"
kyz=.venv/bin/kyzconsole

echo "quickstart: private Mosquitto on 127.0.0.1:$port; data in $KYZ_DATA_DIR"
for _ in $(seq 50); do $kyz test-conn >/dev/null 2>&1 && break; sleep 0.2; done
$kyz test-conn

$kyz --headless 2>"$demo/service-stderr.log" &
service=$!
for _ in $(seq 100); do $kyz status >/dev/null 2>&1 && break; sleep 0.2; done

$kyz simulate --count 96 --rate 200 --bad-every 25 --duplicate-every 30
for _ in $(seq 100); do
    if $kyz status --json | .venv/bin/python -c '
import json, sys
s = json.load(sys.stdin)
c = s["counters"]
sys.exit(0 if c["received"] >= 96 and s["spool"]["pending"] == 0 else 1)'; then break; fi
    sleep 0.2
done
echo
$kyz status
echo
echo "quickstart: done. The rows are in $KYZ_DATA_DIR/kyz.db; the log is $KYZ_LOG_DIR/kyz_ingestor.log."
echo "Bad payloads are in the quarantine: $kyz quarantine"
