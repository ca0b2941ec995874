#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# one.sh -- one bounded wrk run against a fresh orderd, for before/after comparisons while
# tuning: req/s, p50/p99, and the CPU the server used per request (user + system, from
# /proc), which moves less than req/s when other work shares the machine. A benchmark,
# not a test.
#
#   bench/one.sh [create|get] [seconds] [orderd binary]
#   PERF=1 bench/one.sh create 8    # also perf record -g the server ($OUT/perf.data, default /tmp/orderd-bench-out)
# env: WRK_T (2), WRK_C (64), PORT (18191)
set -euo pipefail
cd "$(dirname "$0")/.."
CASE=${1:-create}
DUR=${2:-8}
BIN=${3:-./build/orderd}
WRK_T=${WRK_T:-2}
WRK_C=${WRK_C:-64}
PORT=${PORT:-18191}
ROOT=$(mktemp -d /tmp/orderd-one.XXXXXX)
OUT=${OUT:-/tmp/orderd-bench-out}
mkdir -p "$OUT"
pid=
perf_pid=
cleanup() {
  [ -n "$perf_pid" ] && kill -INT "$perf_pid" 2>/dev/null && wait "$perf_pid" 2>/dev/null || true
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$ROOT"
}
trap cleanup EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

"$BIN" org create --name one --db "sqlite:$ROOT/o.db" > "$ROOT/org.json" 2> /dev/null
sk=$(python3 -c "import json;print(json.load(open('$ROOT/org.json'))['keys']['test']['secret'])")
ORDERD_ACCESS_LOG=0 "$BIN" serve --listen 127.0.0.1:$PORT --db "sqlite:$ROOT/o.db" 2> "$ROOT/orderd.log" &
pid=$!
for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.05; done

url=http://127.0.0.1:$PORT/
script=bench/create.lua
if [ "$CASE" = get ]; then
  id=$(curl -sS "$url"v1/orders -H "Authorization: Bearer $sk" -H 'Content-Type: application/json' \
    -d '{"currency":"EUR","line_items":[{"name":"a","quantity":1,"unit_price":1}]}' |
    python3 -c "import json,sys; print(json.load(sys.stdin)['id'])")
  url="${url}v1/orders/$id"
  script=bench/get.lua
fi
if [ -n "${PERF:-}" ]; then
  perf record ${PERF_ARGS:--g} -o "$OUT/perf.data" -p "$pid" -- sleep "$DUR" 2> /dev/null &
  perf_pid=$!
else # counts per request: syscalls, WAL/db page writes, fsyncs (1/batch), context switches
  perf stat -x, -o "$OUT/stat.csv" -e raw_syscalls:sys_enter,syscalls:sys_enter_pwrite64 \
    -e syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync,context-switches -p "$pid" \
    -- sleep "$DUR" 2> /dev/null &
  perf_pid=$!
fi
t0=$(cpu_ticks "$pid")
line=$(wrk -t"$WRK_T" -c"$WRK_C" -d"${DUR}s" --timeout 10s -s "$script" "$url" -- "$sk" |
  grep '^RESULT ' | sed 's/^RESULT //')
t1=$(cpu_ticks "$pid")
hz=$(getconf CLK_TCK)
if [ -n "$perf_pid" ]; then wait "$perf_pid" || true; perf_pid=; fi
python3 - "$line" "$t0" "$t1" "$hz" "$CASE" "$OUT/stat.csv" "${PERF:-}" <<'PY'
import json, sys
r = json.loads(sys.argv[1]); t0, t1, hz = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
cpu_us = (t1 - t0) / hz * 1e6 / max(r["requests"], 1)
print(f"{sys.argv[5]}: {r['rps']:.0f} req/s  p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms  "
      f"non2xx {r['non2xx']}  errors {r['errors']}  server CPU {cpu_us:.0f} us/req")
if not sys.argv[7]:
    names = {"raw_syscalls:sys_enter": "syscalls", "syscalls:sys_enter_pwrite64": "pwrite",
             "syscalls:sys_enter_fdatasync": "fdatasync", "syscalls:sys_enter_fsync": "fsync",
             "context-switches": "ctx-switches"}
    per = []
    for row in open(sys.argv[6]):
        f = row.strip().split(",")
        if len(f) > 2 and f[2] in names and f[0].replace(".", "").isdigit():
            per.append(f"{names[f[2]]} {float(f[0]) / max(r['requests'], 1):.2f}")
    print("  per request: " + ", ".join(per))
PY
