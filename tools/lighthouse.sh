#!/usr/bin/env bash
# `make lighthouse`: Lighthouse 12.2.3 (mobile preset, Debian's Chromium) on /login, /search
# and a card profile of the release build, logged in as an operator; prints the four scores
# of each page. The reports go to target/lighthouse/. Needs `make build-release` first.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/target/lighthouse"
dir=$(mktemp -d)
port=${LIGHTHOUSE_PORT:-3300}
base="http://127.0.0.1:$port"
mkdir -p "$out"
export DATABASE_URL="sqlite://$dir/cards.db?mode=rwc" DATA_DIR="$dir"
export LEPTOS_SITE_ROOT="$root/target/site" LEPTOS_SITE_ADDR="127.0.0.1:$port"
export GOCARDS_SIM_ADDR=127.0.0.1:0 DEMO_PRODUCTION_SECS=0 RUST_LOG=warn
bin="$root/target/release/server"
"$bin" seed-demo --cards 200 > /dev/null
printf 'lighthouse-pass-1\n' | "$bin" user add lighthouse --role operator > /dev/null
"$bin" serve > "$dir/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 100); do curl -fs "$base/healthz" > /dev/null && break; sleep 0.1; done
cookie=$(curl -fs -o /dev/null -D - -H "Origin: $base" \
  --data 'username=lighthouse&password=lighthouse-pass-1' "$base/api/login" \
  | sed -n 's/^set-cookie: \(carddesk\.sid=[^;]*\).*/\1/Ip' | tr -d '\r')
[ -n "$cookie" ] || { echo "could not log in" >&2; exit 1; }
card=$(sqlite3 "$dir/cards.db" "SELECT card_id FROM cards WHERE state = 'ordered' ORDER BY card_id LIMIT 1")
headers=$(printf '{"Cookie":"%s"}' "$cookie")
printf '%-22s %11s %13s %14s %5s\n' page performance accessibility best-practices seo
for page in /login /search "/cards/$card"; do
  name=$(echo "$page" | tr '/' '_' | sed 's/^_//')
  extra=()
  [ "$page" = /login ] || extra=(--extra-headers="$headers")
  npx -y lighthouse@12.2.3 "$base$page" "${extra[@]}" --quiet \
    --chrome-path=/usr/bin/chromium --chrome-flags="--headless --no-sandbox --disable-gpu" \
    --output=json --output-path="$out/$name.json" > /dev/null 2>&1 \
    || { echo "lighthouse failed on $page" >&2; exit 1; }
  node -e '
    const r = require(process.argv[1]); const c = r.categories;
    const s = (k) => Math.round(c[k].score * 100);
    const lcp = r.audits["largest-contentful-paint"].displayValue;
    console.log(process.argv[2].padEnd(22), String(s("performance")).padStart(11),
      String(s("accessibility")).padStart(13), String(s("best-practices")).padStart(14),
      String(s("seo")).padStart(5), " LCP", lcp);
  ' "$out/$name.json" "$page"
done
