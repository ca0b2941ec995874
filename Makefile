# SPDX-License-Identifier: MIT
# orderd: `make run` and `make test` do everything on a fresh Debian 12 machine (as root).
# The build itself is Meson + Ninja; this file wraps it and installs what is missing.

APT_PACKAGES := gcc make pkg-config python3 meson ninja-build curl clang-format clang chromium \
	libclang-rt-dev openssl \
	libmicrohttpd-dev libjansson-dev libsqlite3-dev libsodium-dev libcmocka-dev libcurl4-openssl-dev \
	libpq-dev postgresql
BUILD := build
ASAN := build-asan
FUZZ := build-fuzz
# every fuzz/fuzz_NAME.c is a target (listed in meson.build's fuzz section)
FUZZ_TARGETS := $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 60

.PHONY: all deps build build-asan build-fuzz fuzz run test bench format format-check lint clean

all: build

# Installs the Debian packages that are missing (and node/npm when there is no node),
# then the npm test tooling from package-lock.json.
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "run as root, or install:$$missing" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
	  npm ci --no-audit --no-fund --loglevel=error; fi

$(BUILD)/build.ninja:
	meson setup $(BUILD) >/dev/null

$(ASAN)/build.ninja:
	meson setup $(ASAN) -Db_sanitize=address,undefined -Db_lundef=false \
	  -Dc_args=-fno-sanitize-recover=all -Dbuildtype=debug >/dev/null

$(FUZZ)/build.ninja:
	CC=clang meson setup $(FUZZ) -Dfuzz=true -Dtests=false -Db_sanitize=address,undefined \
	  -Db_lundef=false -Dc_args='-fsanitize=fuzzer-no-link -fno-sanitize-recover=all' >/dev/null

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

build-fuzz: $(FUZZ)/build.ninja
	ninja -C $(FUZZ)

# Each fuzz target for FUZZ_SECONDS (default 60), one after the other, with its
# dictionary, on a scratch copy of its checked-in corpus (new inputs stay in
# build-fuzz/corpus-NAME); a crash leaves its input in build-fuzz/ and fails.
fuzz: deps build-fuzz
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ)/corpus-$$t && cp -n fuzz/corpus/$$t/* $(FUZZ)/corpus-$$t/ ; \
	  $(FUZZ)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -dict=fuzz/$$t.dict \
	    -artifact_prefix=$(FUZZ)/$$t- $(FUZZ)/corpus-$$t || exit 1; done

build-asan: $(ASAN)/build.ninja
	ninja -C $(ASAN)

# Starts the server on the embedded SQLite store with a demo org (created once).
run: deps build
	@tools/run-demo.sh

# Every test: format and lint, unit tests and the black-box suite, each on the normal
# build and on the ASan+UBSan build. Ends with one "N passed, N failed" line.
test: deps build build-asan build-fuzz
	@tools/test.sh $(BUILD) $(ASAN) $(FUZZ)

# A benchmark, not a test: orderd, nginx and the Fastify+PostgreSQL peer under wrk in one
# run; prints the table and the ratios (bench/RESULTS.md records runs).
bench: deps build
	@bench/run.sh

format:
	clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c')

format-check:
	clang-format --dry-run -Werror $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c')

lint:
	@tools/lint.sh

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ)
