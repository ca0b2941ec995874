#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh -- `make bench`: orderd, an nginx ceiling and (when ../shared/bench is there) the
# Fastify + PostgreSQL peer, each driven by wrk in one run, then one table with the
# ratios. Case "pg": orderd creates on PostgreSQL (a throwaway cluster from
# tools/pg-test-cluster.sh, fsync on) against pgbench single-row INSERTs on the same
# server. A benchmark, not a test: it asserts nothing, it reports.
#
# env: DUR (10 s per case), WRK_T (2), WRK_C (64), CASES ("create get nginx peer pg"),
# PEER_DIR (the shared bench directory; default ../shared/bench)
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${DUR:-10}
WRK_T=${WRK_T:-2}
WRK_C=${WRK_C:-64}
CASES=${CASES:-"create get nginx peer pg"}
ROOT=/tmp/orderd-bench
PEER=${PEER_DIR:-../shared/bench}
if [ ! -d "$PEER" ]; then # in a git worktree: the shared dir is beside the main checkout
  common=$(git rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
  if [ -n "$common" ] && [ -d "$(dirname "$common")/../shared/bench" ]; then
    PEER=$(cd "$(dirname "$common")/../shared/bench" && pwd)
  fi
fi
ORDERD_PORT=18190
NGINX_PORT=18180
PEER_PORT=18480
OUT=$ROOT/results.txt
pids=()
pg_dir=""

need=()
for p in wrk nginx-light libnginx-mod-http-echo; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need+=("$p")
done
if [[ " $CASES " == *" peer "* && -d $PEER ]]; then
  dpkg-query -W -f='${Status}' postgresql-15 2>/dev/null | grep -q "ok installed" || need+=(postgresql-15)
fi
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
# the Debian package starts a default nginx on :80; the bench uses its own instance only
systemctl stop nginx 2>/dev/null || true

cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
  [ -f $ROOT/nginx/nginx.pid ] && kill -QUIT "$(cat $ROOT/nginx/nginx.pid)" 2>/dev/null || true
  [ -d /tmp/bench-pg ] && bash $PEER/pg/pgctl.sh destroy >/dev/null 2>&1 || true
  [ -n "$pg_dir" ] && tools/pg-test-cluster.sh stop "$pg_dir" || true
}
trap cleanup EXIT
rm -rf $ROOT && mkdir -p $ROOT/nginx
: > "$OUT"

wait_port() {
  for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done
  echo "bench: port $1 did not open" >&2
  return 1
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # user + system, of a process

# run NAME URL SCRIPT [args...]: one wrk run, its RESULT line appended to $OUT; with SERVER_PID
# set, the server's CPU time per request (cpu_us) is added to it
run() {
  local name=$1 url=$2 script=$3 line t0=0 t1=0
  shift 3
  [ -n "${SERVER_PID:-}" ] && t0=$(cpu_ticks "$SERVER_PID")
  line=$(wrk -t"$WRK_T" -c"$WRK_C" -d"${DUR}s" --timeout 10s -s "$script" "$url" -- "$@" |
    grep '^RESULT ' | sed 's/^RESULT //')
  if [ -n "${SERVER_PID:-}" ]; then
    t1=$(cpu_ticks "$SERVER_PID")
    line=$(python3 -c "import json,sys; r=json.loads(sys.argv[1]); r['cpu_us']=round(($t1-$t0)/$(getconf CLK_TCK)*1e6/max(r['requests'],1)); print(json.dumps(r))" "$line")
  fi
  echo "$name $line" >> "$OUT"
  echo "  $name: $line" >&2
}

# orderd on a fresh SQLite store
make -s build >/dev/null
./build/orderd org create --name bench --db sqlite:$ROOT/o.db > $ROOT/org.json
sk=$(python3 -c "import json;print(json.load(open('$ROOT/org.json'))['keys']['test']['secret'])")
org=$(python3 -c "import json;print(json.load(open('$ROOT/org.json'))['id'])")
# one key drives the whole load: lift its rate limit (100/s by default) for the benchmark
./build/orderd org set "$org" rate_limit.secret=off --db sqlite:$ROOT/o.db >/dev/null
if [[ " $CASES " == *" create "* || " $CASES " == *" get "* ]]; then
  ORDERD_ACCESS_LOG=0 ./build/orderd serve --listen 127.0.0.1:$ORDERD_PORT --db sqlite:$ROOT/o.db \
    2> $ROOT/orderd.log &
  orderd_pid=$!
  pids+=("$orderd_pid")
  wait_port $ORDERD_PORT
  SERVER_PID=$orderd_pid
  if [[ " $CASES " == *" create "* ]]; then
    run "orderd POST /v1/orders" http://127.0.0.1:$ORDERD_PORT/ bench/create.lua "$sk"
  fi
  if [[ " $CASES " == *" get "* ]]; then
    id=$(curl -sS "http://127.0.0.1:$ORDERD_PORT/v1/orders?limit=1" -H "Authorization: Bearer $sk" |
      python3 -c "import json,sys; d=json.load(sys.stdin)['data']; print(d[0]['id'] if d else '')")
    if [ -z "$id" ]; then
      id=$(curl -sS http://127.0.0.1:$ORDERD_PORT/v1/orders -H "Authorization: Bearer $sk" \
        -H 'Content-Type: application/json' \
        -d '{"currency":"EUR","line_items":[{"name":"a","quantity":1,"unit_price":1}]}' |
        python3 -c "import json,sys; print(json.load(sys.stdin)['id'])")
    fi
    run "orderd GET /v1/orders/{id}" "http://127.0.0.1:$ORDERD_PORT/v1/orders/$id" bench/get.lua "$sk"
  fi
  kill -TERM $orderd_pid && wait $orderd_pid || true
  pids=()
  SERVER_PID=
  rows=$(python3 -c "import sqlite3; print(sqlite3.connect('$ROOT/o.db').execute(\"select count(*) from orders where external_id like 'B-%'\").fetchone()[0])")
  echo "orderd-rows $rows" >> "$OUT"
fi

if [[ " $CASES " == *" pg "* ]]; then
  eval "$(tools/pg-test-cluster.sh start)"
  pg_dir=$ORDERD_TEST_PG_DIR
  psql() { "$ORDERD_TEST_PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
  psql -d "$ORDERD_TEST_PG_URL/postgres" -c "CREATE DATABASE orderd" -c "CREATE DATABASE pgb"
  pgdb="$ORDERD_TEST_PG_URL/orderd"
  bin=$PWD/build/orderd # run from $ROOT: the master key goes to $ROOT/data/master.key
  (cd $ROOT && "$bin" org create --name bench --db "$pgdb" > org-pg.json 2> orderd-pg.log)
  sk=$(python3 -c "import json;print(json.load(open('$ROOT/org-pg.json'))['keys']['test']['secret'])")
  org=$(python3 -c "import json;print(json.load(open('$ROOT/org-pg.json'))['id'])")
  (cd $ROOT && "$bin" org set "$org" rate_limit.secret=off --db "$pgdb" >/dev/null 2>> orderd-pg.log)
  (cd $ROOT && ORDERD_ACCESS_LOG=0 exec "$bin" serve --listen 127.0.0.1:$ORDERD_PORT --db "$pgdb" \
    2>> orderd-pg.log) &
  orderd_pid=$!
  pids+=("$orderd_pid")
  wait_port $ORDERD_PORT
  SERVER_PID=$orderd_pid
  run "orderd POST /v1/orders (PostgreSQL)" http://127.0.0.1:$ORDERD_PORT/ bench/create.lua "$sk"
  kill -TERM $orderd_pid && wait $orderd_pid || true
  pids=()
  SERVER_PID=
  echo "orderd-pg-rows $(psql -d "$pgdb" -c "select count(*) from orders where external_id like 'B-%'")" >> "$OUT"
  # the baseline: pgbench single-row INSERTs (autocommit) on the same server
  psql -d "$ORDERD_TEST_PG_URL/pgb" -c "CREATE TABLE orders (id TEXT PRIMARY KEY, org TEXT NOT NULL,
    external_id TEXT NOT NULL, body JSONB NOT NULL, UNIQUE (org, external_id))"
  for c in 1 64; do
    psql -d "$ORDERD_TEST_PG_URL/pgb" -c "TRUNCATE orders" -c "CHECKPOINT"
    tps=$("$ORDERD_TEST_PG_BIN/pgbench" -n -M simple -f bench/pg-insert.sql -c $c -j $((c > 1 ? 2 : 1)) \
      -T "$DUR" "$ORDERD_TEST_PG_URL/pgb" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1)
    echo "pgbench INSERT c=$c {\"rps\": ${tps:-0}, \"p50_ms\": 0, \"p99_ms\": 0, \"non2xx\": 0, \"errors\": 0, \"requests\": 0}" >> "$OUT"
    echo "  pgbench c=$c: $tps tps" >&2
  done
  tools/pg-test-cluster.sh stop "$pg_dir"
  pg_dir=""
fi

if [[ " $CASES " == *" nginx "* ]]; then
  nginx -p $ROOT/nginx -c "$PWD/bench/nginx.conf"
  wait_port $NGINX_PORT
  run "nginx POST (body read, 201)" http://127.0.0.1:$NGINX_PORT/ bench/create.lua "$sk"
  run "nginx GET (fixed JSON)" "http://127.0.0.1:$NGINX_PORT/v1/orders/x" bench/get.lua "$sk"
  kill -QUIT "$(cat $ROOT/nginx/nginx.pid)"
fi

if [[ " $CASES " == *" peer "* && -d $PEER/peer-fastify ]]; then
  mkdir -p $ROOT/peer && cp $PEER/peer-fastify/server.js $ROOT/peer/
  (cd $ROOT/peer && npm init -y >/dev/null && npm install --no-audit --no-fund --loglevel=error \
    fastify@5 pg@8 >/dev/null)
  bash $PEER/pg/pgctl.sh start >/dev/null
  STORE=pg WORKERS=2 PG_POOL=10 PORT=$PEER_PORT node $ROOT/peer/server.js 2> $ROOT/peer.log &
  pids+=("$!")
  wait_port $PEER_PORT
  wrk -t"$WRK_T" -c"$WRK_C" -d3s -s $PEER/wrk/post-unique.lua http://127.0.0.1:$PEER_PORT/orders >/dev/null
  line=$(wrk -t"$WRK_T" -c"$WRK_C" -d"${DUR}s" --timeout 10s -s $PEER/wrk/post-unique.lua \
    http://127.0.0.1:$PEER_PORT/orders | grep '^RESULT ' | sed 's/^RESULT //')
  echo "peer POST /orders (Fastify+pg) $line" >> "$OUT"
  echo "  peer: $line" >&2
fi

python3 - "$OUT" <<'PY'
import json, sys
rows, pg_rows, res = None, None, {}
for line in open(sys.argv[1]):
    name, _, rest = line.rstrip("\n").partition(" {")
    if line.startswith("orderd-rows "):
        rows = int(line.split()[1]); continue
    if line.startswith("orderd-pg-rows "):
        pg_rows = int(line.split()[1]); continue
    r = json.loads("{" + rest)
    if "errors" not in r:  # the shared peer script's field names
        r["errors"] = sum(r.get(k, 0) for k in ("connect_err", "read_err", "write_err", "timeouts"))
    res[name] = r
print("\n| case | req/s | p50 ms | p99 ms | non-2xx | errors | server CPU us/req |")
print("|---|---:|---:|---:|---:|---:|---:|")
for name, r in res.items():
    cpu = r.get("cpu_us", "")
    print(f"| {name} | {r['rps']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['non2xx']} | {r['errors']} | {cpu} |")
c = res.get("orderd POST /v1/orders")
if c and rows is not None:
    ok = c["requests"] - c["non2xx"]
    print(f"\norderd creates: {ok} answered 2xx, {rows} rows stored "
          f"({rows - ok:+d}: requests still in flight when wrk stopped are committed too)")
c = res.get("orderd POST /v1/orders (PostgreSQL)")
if c and pg_rows is not None:
    ok = c["requests"] - c["non2xx"]
    print(f"orderd creates on PostgreSQL: {ok} answered 2xx, {pg_rows} rows stored ({pg_rows - ok:+d})")
def ratio(a, b, label):
    if a in res and b in res:
        print(f"{label}: {res[a]['rps'] / res[b]['rps']:.2f}")
print()
ratio("orderd POST /v1/orders", "nginx POST (body read, 201)", "create orderd/nginx (target >= 0.35)")
ratio("orderd POST /v1/orders", "peer POST /orders (Fastify+pg)", "create orderd/peer (target >= 5)")
ratio("orderd GET /v1/orders/{id}", "nginx GET (fixed JSON)", "get orderd/nginx (target >= 0.6)")
ratio("orderd POST /v1/orders (PostgreSQL)", "pgbench INSERT c=1", "create on PostgreSQL orderd/pgbench c=1 (target >= 1.5)")
ratio("orderd POST /v1/orders (PostgreSQL)", "pgbench INSERT c=64", "create on PostgreSQL orderd/pgbench c=64")
PY
