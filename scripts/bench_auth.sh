#!/usr/bin/env bash
# Benchmark: the cost of authentication on a read route. wrk against the release portal's
# /metrics (readable anonymously by default) three ways in one run: anonymous, with an API
# token (Bearer), with HTTP Basic (login and password). Prints requests/s for each.
#   scripts/bench_auth.sh            (after `make build`; installs wrk from Debian if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
BIN=${KEIKO_BIN:-target/release/keiko-portal}
PORT=${PORT:-3987}
DURATION=${DURATION:-10s}
PASSWORD=bench-password-1234
data=$(mktemp -d)
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
KEIKO_LISTEN=127.0.0.1:$PORT KEIKO_DATA_DIR=$data KEIKO_ADMIN_PASSWORD=$PASSWORD \
  KEIKO_LOG_LEVEL=warn "$BIN" serve >"$data/log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
token=$(curl -fs -u "admin:$PASSWORD" -H 'content-type: application/json' \
  -d '{"name":"bench"}' "http://127.0.0.1:$PORT/api/v1/tokens" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
basic=$(printf 'admin:%s' "$PASSWORD" | base64)
url="http://127.0.0.1:$PORT/metrics"
run() {
  local name=$1; shift
  local rps
  rps=$(wrk -t2 -c16 -d"$DURATION" --latency "$@" "$url" | awk '/Requests\/sec/ {print $2}')
  printf '%-10s %10s req/s\n' "$name" "$rps"
}
echo "keiko-portal $(git rev-parse --short HEAD), $(nproc) cores, wrk -t2 -c16 -d$DURATION on /metrics"
run anonymous
run bearer -H "Authorization: Bearer $token"
run basic -H "Authorization: Basic $basic"
