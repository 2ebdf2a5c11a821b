#!/usr/bin/env bash
# Build times on this machine, for one or more checkouts side by side in one run (so a
# before/after comparison sees the same machine load): `bash tools/build-times.sh OLD NEW`.
# For each checkout, in its own target/ (emptied first):
#   1. a clean `cargo build --workspace`;
#   2. `cargo test --workspace --no-run` on top of that;
#   3. `cargo build -p server` after touching one UI file, and 4. after touching one backend
#      file (the rebuild a developer waits for before trying a change).
# A touch is an appended comment line; both files are put back at the end. CARGO_INCREMENTAL is left as
# cargo's default for dev builds (on), as a developer has it.
set -euo pipefail

ui_file() { # the search page, wherever the checkout keeps it
  for f in app/src/ui/search.rs; do [ -f "$1/$f" ] && { echo "$f"; return; }; done
  return 1
}
backend_file() { # the card queries
  for f in backend/src/db/cards.rs app/src/backend/db/cards.rs; do
    [ -f "$1/$f" ] && { echo "$f"; return; }
  done
  return 1
}

seconds() { # runs "$@" quietly, prints the wall time in seconds
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>&1 || { echo "FAILED: $*" >&2; return 1; }
  end=$(date +%s.%N)
  printf '%.1f' "$(echo "$end - $start" | bc)"
}

touch_and_build() { # file: append a comment line, rebuild
  printf '\n// build-times touch\n' >> "$1"
  seconds cargo build -p server
}

printf '| checkout | clean build | test --no-run | after a UI file | after a backend file |\n'
printf '|---|---|---|---|---|\n'
for tree in "$@"; do
  (
    cd "$tree"
    rm -rf target
    ui_file=$(ui_file .)
    backend_file=$(backend_file .)
    cp "$ui_file" "$ui_file.orig"
    cp "$backend_file" "$backend_file.orig"
    trap 'mv "$ui_file.orig" "$ui_file"; mv "$backend_file.orig" "$backend_file"' EXIT
    clean=$(seconds cargo build --workspace)
    tests=$(seconds cargo test --workspace --no-run)
    # Untimed: a first `-p server` build may still build something the workspace build did
    # not need in that form; the touches below time only the touched file's rebuild.
    seconds cargo build -p server >/dev/null
    ui=$(touch_and_build "$ui_file")
    be=$(touch_and_build "$backend_file")
    rev=$(git rev-parse --short HEAD 2>/dev/null || echo "?")
    printf '| %s (%s) | %s s | %s s | %s s | %s s |\n' "$tree" "$rev" "$clean" "$tests" "$ui" "$be"
  )
done
