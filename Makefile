# The card-order desk. `make run` starts the demo; `make test` runs every check.
# Both install what a fresh machine lacks (wasm32 target, cargo-leptos, wasm-bindgen,
# npm packages, Chromium) and skip what is already there.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

CARGO_LEPTOS_VERSION := 0.3.10
# The wasm-bindgen CLI must equal the crate version in Cargo.lock.
WASM_BINDGEN_VERSION := $(shell awk '/^name = "wasm-bindgen"$$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)

export PATH := $(CURDIR)/end2end/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

.PHONY: run watch test tools wasm-target cargo-leptos wasm-bindgen npm chromium postgres-check \
        build build-release build-release-plain fmt-check clippy unit flood export-flood crash live-memory e2e e2e-modes \
        lighthouse wire bench bench-frontend build-times wasm-size clean-data

## Start the demo on http://127.0.0.1:3000 (SQLite file, built-in GO Cards simulator, demo data).
run: tools build-release
	LEPTOS_SITE_ROOT=target/site ./target/release/server serve

## The developer loop: `cargo leptos watch` rebuilds and restarts on every change (debug build,
## no WASM split), on http://127.0.0.1:3000 with the same demo as `make run`.
watch: tools
	cargo leptos watch

## Every check: format, lints, Rust tests (SQLite and PostgreSQL), the page hydrating in each
## build mode, then the whole Playwright suite in Chromium on the `make run` build.
test: tools chromium postgres-check fmt-check clippy unit e2e-modes build-release flood export-flood crash live-memory e2e

tools: wasm-target cargo-leptos wasm-bindgen npm

wasm-target:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

cargo-leptos:
	@if cargo leptos --version 2>/dev/null | grep -q "$(CARGO_LEPTOS_VERSION)"; then \
	  echo "cargo-leptos $(CARGO_LEPTOS_VERSION) present"; \
	else \
	  echo "installing cargo-leptos $(CARGO_LEPTOS_VERSION) (about 14 minutes on 2 cores)"; \
	  cargo install cargo-leptos --locked --version $(CARGO_LEPTOS_VERSION) --features no_downloads; \
	fi

wasm-bindgen:
	@if wasm-bindgen --version 2>/dev/null | grep -q "$(WASM_BINDGEN_VERSION)"; then \
	  echo "wasm-bindgen $(WASM_BINDGEN_VERSION) present"; \
	else \
	  echo "installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION)"; \
	  cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --force; \
	fi

npm:
	@if [ -x end2end/node_modules/.bin/playwright ] && [ -x end2end/node_modules/.bin/wasm-opt ] \
	     && [ end2end/node_modules/.package-lock.json -nt end2end/package-lock.json ]; then \
	  echo "npm packages present"; \
	else \
	  cd end2end && npm ci --no-audit --no-fund; \
	fi

chromium:
	@if command -v chromium >/dev/null; then \
	  echo "chromium present"; \
	else \
	  echo "installing chromium from apt"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends chromium; \
	fi

## PostgreSQL at 127.0.0.1:5432: required when REQUIRE_POSTGRES=1, else its tests are skipped loudly.
postgres-check:
	@if (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then \
	  echo "PostgreSQL reachable at 127.0.0.1:5432"; \
	elif [ "$${REQUIRE_POSTGRES:-0}" = 1 ]; then \
	  echo "ERROR: REQUIRE_POSTGRES=1 but PostgreSQL is not reachable at 127.0.0.1:5432." >&2; \
	  echo "Start it (pg_ctlcluster --skip-systemctl-redirect \$$(ls /etc/postgresql) main start) and retry." >&2; \
	  exit 1; \
	else \
	  echo "*** WARNING: PostgreSQL is not reachable at 127.0.0.1:5432; its tests will be SKIPPED. ***"; \
	fi

build:
	cargo leptos build

## --split: the settings pages are WASM chunks of their own (lazy routes). --precompress:
## a .br and a .gz of each file, at the best levels, which the server sends as they are.
build-release:
	cargo leptos build --release --split --precompress

## The plain release build a newcomer types; the settings pages are ordinary routes.
build-release-plain:
	cargo leptos build --release --precompress

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p frontend -p app --lib --no-default-features --features app/hydrate --target wasm32-unknown-unknown -- -D warnings

unit:
	cargo test --workspace

## 1,000 parallel failed log-ins against the release server: RSS growth at most 100 MB, and
## a right password gets in during and after (server/tests/it/flood.rs).
flood:
	FLOOD_SERVER_BIN=$(CURDIR)/target/release/server cargo test --workspace --test it flood -- --ignored --nocapture

## The CSV export of 1,000,000 cards against the release server: RSS growth at most 30 MB
## (server/tests/it/export_memory.rs; the cards are bulk-inserted into SQLite by the test).
export-flood:
	FLOOD_SERVER_BIN=$(CURDIR)/target/release/server cargo test --workspace --test it export_memory -- --ignored --nocapture

## SIGKILL the release server during a 2,000-card Update card order job and a 2,000-user
## batch order, restart it, Run the rest: every item once, one GO Cards order per user
## (server/tests/it/jobs/crash.rs). Builds nothing: run after build-release.
crash:
	JOBS_SERVER_BIN=$(CURDIR)/target/release/server cargo test --workspace --test it jobs::crash -- --ignored --nocapture --test-threads=1

## 20 live streams whose clients never read, sent 200,000 events each: the test process's RSS
## grows by at most 30 MB (server/tests/it/live.rs). Alone, since it measures the process.
live-memory:
	cargo test --workspace --test it live::memory_does_not_grow -- --ignored --nocapture --test-threads=1

## On a failure, the server's warnings and errors of the run are printed too.
e2e:
	cd end2end && E2E_PROFILE=release npx playwright test || { \
	  echo "--- server.log, warnings and errors:"; \
	  grep -E 'WARN|ERROR' /tmp/carddesk-e2e/server.log | tail -40; exit 1; }

## The page hydrates in the other build modes the README names: debug (what `cargo leptos
## watch` and `cargo leptos end-to-end` build) and a release without --split. The split
## release is the one `e2e` runs the whole suite on.
e2e-modes:
	cargo leptos build
	cd end2end && E2E_PROFILE=debug npx playwright test hydrates.spec.ts
	cargo leptos build --release
	cd end2end && E2E_PROFILE=release npx playwright test hydrates.spec.ts

## Lighthouse 12.2.3, mobile preset, on /login, /search and a card profile of the release
## build, logged in: the four scores of each page (tools/lighthouse.sh; not part of `test`).
lighthouse:
	bash tools/lighthouse.sh

## Bytes on the wire of a first and a repeat visit, as the browser counts them (the
## Playwright spec wire.spec.ts, which `e2e` runs too), with the table printed.
wire:
	cd end2end && E2E_PROFILE=release npx playwright test wire.spec.ts --reporter=list

## Benchmarks; see BENCHMARKS.md.
bench:
	cargo bench -p server

## Build times of this checkout and of any others named in TREES (for a before/after in one
## run): clean build, rebuilds after touching a UI and a backend file, and the test build.
build-times:
	bash tools/build-times.sh $${TREES:-.}

## Front-end figures (after build-release): asset sizes, then hydration timings in Chromium.
bench-frontend: wasm-size
	cd end2end && PERF_RUNS=$${PERF_RUNS:-30} npx playwright test perf.spec.ts

## The release assets the browser downloads, raw and gzip -9.
wasm-size:
	@for f in target/site/pkg/carddesk*.wasm target/site/pkg/carddesk*.js target/site/pkg/carddesk*.css; do \
	  br=$$( [ -f $$f.br ] && wc -c < $$f.br || echo -); \
	  printf '%-48s %9s B raw %9s B gzip -9 %9s B brotli (served)\n' "$$f" "$$(wc -c < $$f)" "$$(gzip -9 -c $$f | wc -c)" "$$br"; \
	done

clean-data:
	rm -rf data
