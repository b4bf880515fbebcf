#!/usr/bin/env sh
# A private CA and a server certificate for the Mosquitto TLS listener (port 8883).
#
#   sh make-certs.sh OUTDIR HOSTNAME [IP]
#   sh make-certs.sh ./certs pace-server.plant.local 10.20.30.40
#
# Writes OUTDIR/ca.key ca.crt server.key server.crt. The server certificate names HOSTNAME,
# localhost, 127.0.0.1 and IP (if given), so clients may connect by any of these names.
# Keep ca.key offline: it signs certificates. Copy ca.crt, server.crt and server.key to the
# broker (C:\ProgramData\mosquitto\certs\); give ca.crt to the PLC and to kyzconsole
# (KYZ_MQTT_CA_FILE). The same commands for PowerShell are in docs/MOSQUITTO_SETUP.md.
set -eu

if [ $# -lt 2 ]; then
    echo "usage: $0 OUTDIR HOSTNAME [IP]" >&2
    exit 2
fi
out=$1
host=$2
san="DNS:$host,DNS:localhost,IP:127.0.0.1"
if [ $# -ge 3 ]; then
    san="$san,IP:$3"
fi
mkdir -p "$out"
cd "$out"

# 1. The CA: a self-signed certificate valid 10 years.
openssl req -x509 -newkey rsa:2048 -sha256 -nodes -days 3650 \
    -keyout ca.key -out ca.crt -subj "/CN=PACE MQTT CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign"

# 2. The server's key and certificate request.
openssl req -newkey rsa:2048 -sha256 -nodes \
    -keyout server.key -out server.csr -subj "/CN=$host"

# 3. The CA signs it, valid 825 days, with the names clients connect to.
printf '%s\n' "subjectAltName=$san" "basicConstraints=CA:FALSE" \
    "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" \
    > server.ext
openssl x509 -req -sha256 -days 825 -in server.csr -CA ca.crt -CAkey ca.key \
    -CAcreateserial -out server.crt -extfile server.ext

rm -f server.csr server.ext
openssl verify -CAfile ca.crt server.crt
