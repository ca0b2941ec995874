#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# lint.sh -- house rules a compiler does not check: third-party headers stay in their
# layer, banned functions, an SPDX line and a purpose comment at the top of each file,
# no // comments.
set -u
cd "$(dirname "$0")/.."
bad=0
only_in() { # header, allowed path regex
  local hits
  hits=$(grep -rln "#include <$1>" src | grep -Ev "$2" || true)
  if [ -n "$hits" ]; then echo "lint: <$1> included outside its layer: $hits"; bad=1; fi
}
only_in microhttpd.h '^src/http/'
only_in sqlite3.h '^src/store/sqlite/'
only_in libpq-fe.h '^src/store/pg/'
only_in jansson.h '^src/core/jsonx\.c$'
only_in sodium.h '^src/core/crypto\.c$'
only_in curl/curl.h '^src/webhook/'
files=$(git ls-files 'src/*.c' 'src/*.h' 'tests/unit/*.c' 'fuzz/*.c' 2>/dev/null; \
        git ls-files --others --exclude-standard 'src/*.c' 'src/*.h' 'tests/unit/*.c' 'fuzz/*.c')
for f in $files; do
  [ -f "$f" ] || continue
  head -n1 "$f" | grep -q 'SPDX-License-Identifier' || { echo "lint: $f: no SPDX first line"; bad=1; }
  if grep -nE '\b(sprintf|strcpy|strcat|strtok|atoi|gets|system)\(' "$f" | grep -v 'snprintf\|vsnprintf'; then
    echo "lint: $f: banned function (use snprintf, memcpy, strtok_r, strtol)"; bad=1
  fi
  if grep -nE '^\s*//|[;{}]\s*//' "$f" >/dev/null; then echo "lint: $f: // comment"; bad=1; fi
done
[ $bad = 0 ] && echo "lint: ok"
exit $bad
