#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# pg-test-cluster.sh -- a throwaway PostgreSQL cluster for the black-box tests.
#
#   eval "$(tools/pg-test-cluster.sh start)"   # initdb + start; prints the env lines:
#       ORDERD_TEST_PG_URL=postgres://postgres@127.0.0.1:PORT   (no database part)
#       ORDERD_TEST_PG_DIR=/tmp/orderd-pg-…                     (pass it to stop)
#       ORDERD_TEST_PG_BIN=/usr/lib/postgresql/15/bin
#   tools/pg-test-cluster.sh stop "$ORDERD_TEST_PG_DIR"        # pg_ctl stop + rm -rf
#   tools/pg-test-cluster.sh stop-server DIR / start-server DIR # pg_ctl stop -m fast / start,
#       keeping the data dir and the port (a fault test: the server goes away and comes back)
#
# The cluster lives in a new temp dir, listens on 127.0.0.1 on a free port and on a
# unix socket in that dir only, trusts local connections (it is a test cluster), and
# keeps PostgreSQL's durability settings (fsync and synchronous_commit on). PostgreSQL
# refuses to run as root: as root it runs as the postgres user (runuser).
set -euo pipefail

bin=${ORDERD_TEST_PG_BIN:-$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)}

as_pg() { # runs a PostgreSQL program as the cluster's owner
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start() {
  local dir port
  [ -x "$bin/initdb" ] || { echo "pg-test-cluster: no initdb in $bin (apt-get install postgresql)" >&2; exit 1; }
  dir=$(mktemp -d /tmp/orderd-pg-XXXXXX)
  chmod 700 "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; rm -rf "$dir"; exit 1; }
  for attempt in 1 2 3; do
    port=$(free_port)
    cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 300
fsync = on
synchronous_commit = on
EOF
    if as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start >/dev/null 2>&1; then
      echo "ORDERD_TEST_PG_URL=postgres://postgres@127.0.0.1:$port"
      echo "ORDERD_TEST_PG_DIR=$dir"
      echo "ORDERD_TEST_PG_BIN=$bin"
      return 0
    fi
    echo "pg-test-cluster: start on port $port failed (attempt $attempt)" >&2
  done
  tail -n 20 "$dir/server.log" >&2 || true
  rm -rf "$dir"
  exit 1
}

stop() {
  local dir=${1:-}
  case "$dir" in
    /tmp/orderd-pg-*) ;;
    *) echo "pg-test-cluster: stop wants the ORDERD_TEST_PG_DIR that start printed" >&2; exit 2 ;;
  esac
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

check_dir() {
  case "${1:-}" in
    /tmp/orderd-pg-*) [ -d "$1/data" ] && return 0 ;;
  esac
  echo "pg-test-cluster: $2 wants the ORDERD_TEST_PG_DIR that start printed" >&2
  exit 2
}

stop_server() { # the cluster stays on disk; its port stays in postgresql.conf
  check_dir "${1:-}" stop-server
  as_pg "$bin/pg_ctl" -D "$1/data" -m fast -w -t 30 stop >/dev/null
}

start_server() {
  check_dir "${1:-}" start-server
  as_pg "$bin/pg_ctl" -D "$1/data" -l "$1/server.log" -w -t 30 start >/dev/null ||
    { tail -n 20 "$1/server.log" >&2; exit 1; }
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  stop-server) stop_server "${2:-}" ;;
  start-server) start_server "${2:-}" ;;
  *) echo "usage: $0 start | stop DIR | stop-server DIR | start-server DIR" >&2; exit 2 ;;
esac
