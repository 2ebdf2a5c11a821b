#!/usr/bin/env bash
# Starts the app for the end-to-end tests: a fresh database in $E2E_DIR with the demo cards
# and two users whose passwords the tests know.
# The binary (scripts/server-bin.js): E2E_PROFILE (release or debug) names it; unset, the
# profile of the server `cargo leptos end-to-end` started, else the newer build. So
# `cargo leptos end-to-end` and `cargo leptos end-to-end --release` each test what they built.
# E2E_TARGET_DIR (default: the workspace's target/), E2E_APP_PORT (3100) and E2E_SIM_PORT
# (4011) let a second checkout run the suite beside this one.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
target=${E2E_TARGET_DIR:-$root/target}
export E2E_DIR=${E2E_DIR:-/tmp/carddesk-e2e}
rm -rf "$E2E_DIR"
mkdir -p "$E2E_DIR"
export DATABASE_URL="sqlite://$E2E_DIR/cards.db?mode=rwc"
export DATA_DIR="$E2E_DIR"
export LEPTOS_SITE_ROOT="$target/site"
export LEPTOS_SITE_ADDR=127.0.0.1:${E2E_APP_PORT:-3100}
export GOCARDS_SIM_ADDR=127.0.0.1:${E2E_SIM_PORT:-4011}
export GOCARDS_TIMEOUT_MS=1500
# A known webhook key, so that the suite can check it never reaches the browser.
export GOCARDS_WEBHOOK_SECRET=e2e-webhook-secret-5d1c9b7a40-7f3e2a91
# Cards move only when a test moves them (the demo's production line is off).
export DEMO_PRODUCTION_SECS=0
# An hourly schedule: on, but no run starts by itself during the suite.
export SYNC_INTERVAL_SECS=3600
export RUST_LOG=${RUST_LOG:-info,sqlx=warn}
bin=$(node "$root/end2end/scripts/server-bin.js")
echo "end-to-end tests against $bin" >&2
"$bin" seed-demo --cards 200
printf 'e2e-admin-pass\n' | "$bin" user add admin --role admin
printf 'e2e-operator-pass\n' | "$bin" user add operator --role operator
exec "$bin" serve 2> "$E2E_DIR/server.log"
