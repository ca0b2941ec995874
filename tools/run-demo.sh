#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run-demo.sh -- `make run`: creates a demo org on first start (its keys are kept in
# data/demo-org.json, mode 0600), prints the keys and a curl command, then serves.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/orderd
db="${ORDERD_DB:-sqlite:./data/orderd.db}"
listen="${ORDERD_LISTEN:-127.0.0.1:8080}"
mkdir -p data
chmod 700 data
if [ ! -s data/demo-org.json ]; then
  umask 077
  "$bin" org create --name "Demo shop" --db "$db" > data/demo-org.json.tmp
  mv data/demo-org.json.tmp data/demo-org.json
fi
key() { python3 -c "import json,sys; print(json.load(open('data/demo-org.json'))$1)"; }
org=$(key "['id']")
sk=$(key "['keys']['test']['secret']")
pk=$(key "['keys']['test']['publishable']")
cat <<MSG

orderd demo org: $org
  test secret key:      $sk
  test publishable key: $pk
  live keys:            in data/demo-org.json

Create an order:
  curl -sS http://$listen/v1/orders -H "Authorization: Bearer $sk" \\
    -H 'Content-Type: application/json' -H "Idempotency-Key: \$(date +%s%N)" \\
    -d '{"external_id":"ORD-'\$RANDOM'","currency":"EUR","line_items":[{"name":"Tea pot","quantity":2,"unit_price":4295}]}'
List orders:
  curl -sS http://$listen/v1/orders -H "Authorization: Bearer $sk"

Serving on http://$listen (Ctrl-C stops).
MSG
exec "$bin" serve --listen "$listen" --db "$db"
