#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test.sh -- `make test` after the builds: format and lint checks, the cmocka unit
# tests and the black-box suite, on the normal and on the ASan+UBSan build, and the
# black-box suite once more on the normal build against PostgreSQL (a throwaway cluster,
# tools/pg-test-cluster.sh, stopped at the end). Prints one closing line
# "tests: N passed, N failed" and exits non-zero when anything failed.
set -u
cd "$(dirname "$0")/.."
build=${1:-build}
asan=${2:-build-asan}
fuzz=${3:-build-fuzz}
pass=0
fail=0
log=$(mktemp -d)
pg_dir=""
cleanup() {
  [ -n "$pg_dir" ] && tools/pg-test-cluster.sh stop "$pg_dir"
  rm -rf "$log"
}
trap cleanup EXIT

check() { # name, command...: one pass or one fail
  local name=$1; shift
  if "$@" >"$log/out" 2>&1; then pass=$((pass + 1)); echo "ok   $name"
  else fail=$((fail + 1)); echo "FAIL $name"; tail -n 40 "$log/out"; fi
}

meson_suite() { # build dir: counts cmocka test cases, not programs
  meson test -C "$1" --print-errorlogs -v >"$log/meson" 2>&1
  local rc=$? ok f
  ok=$(grep -E '^\[  PASSED  \] [0-9]+ test' "$log/meson" | awk '{s += $4} END {print s + 0}')
  f=$(grep -E '^\[  FAILED  \] [0-9]+ test' "$log/meson" | awk '{s += $4} END {print s + 0}')
  [ $rc != 0 ] && [ "$f" = 0 ] && f=1
  pass=$((pass + ok)); fail=$((fail + f))
  echo "unit ($1): $ok passed, $f failed"
  [ "$f" = 0 ] || cat "$log/meson"
}

node_suite() { # label, binary[, test dir: tests/api/ by default]
  ORDERD_BIN="$PWD/$2" node --test --test-reporter=spec "${3:-tests/api/}" >"$log/node" 2>&1
  local rc=$? ok f
  ok=$(grep -E '^ℹ pass ' "$log/node" | awk '{print $3}'); f=$(grep -E '^ℹ fail ' "$log/node" | awk '{print $3}')
  ok=${ok:-0}; f=${f:-0}
  [ $rc != 0 ] && [ "$f" = 0 ] && f=1
  [ "$ok" = 0 ] && f=$((f + 1)) # a suite that ran nothing has failed
  pass=$((pass + ok)); fail=$((fail + f))
  echo "black-box ($1): $ok passed, $f failed"
  [ "$f" = 0 ] || grep -vE '^\s*✔' "$log/node" | tail -n 150
}

check "format (clang-format)" make -s format-check
check "lint (layers, banned functions, headers)" tools/lint.sh
fuzz_smoke() { # target: a few seconds on the checked-in corpus (read-only copy)
  local dir="$log/corpus-$1"
  mkdir -p "$dir" && cp fuzz/corpus/"$1"/* "$dir"/
  "$fuzz/fuzz_$1" -max_total_time=3 -dict=fuzz/"$1".dict -artifact_prefix="$log/" "$dir"
}

for src in fuzz/fuzz_*.c; do
  t=${src#fuzz/fuzz_}; t=${t%.c}
  check "fuzz smoke: $t (3 s)" fuzz_smoke "$t"
done
meson_suite "$build"
meson_suite "$asan"
node_suite "release build" "$build/orderd"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  node_suite "ASan+UBSan build" "$asan/orderd"
# the dashboard in headless Chromium (screenshots in build/test-artifacts/)
node_suite "browser, release build" "$build/orderd" tests/browser/
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  node_suite "browser, ASan+UBSan build" "$asan/orderd" tests/browser/
if pg_env=$(tools/pg-test-cluster.sh start 2>"$log/pg"); then
  eval "$pg_env"
  pg_dir=$ORDERD_TEST_PG_DIR
  export ORDERD_TEST_PG=1 ORDERD_TEST_PG_URL ORDERD_TEST_PG_BIN
  node_suite "release build, PostgreSQL" "$build/orderd"
  unset ORDERD_TEST_PG ORDERD_TEST_PG_URL ORDERD_TEST_PG_BIN
else
  fail=$((fail + 1)); echo "FAIL PostgreSQL test cluster"; cat "$log/pg"
fi
echo "tests: $pass passed, $fail failed"
[ "$fail" = 0 ]
