#!/usr/bin/env bash
# A/B of GET /v1/withdrawals/{id} throughput between service binaries (e.g.
# before and after a change), alternating rounds against one Redis holding
# 100,000 withdrawals. Not a test: prints req/s per round and binary.
#
# Usage: scripts/ab-get.sh BINARY_A BINARY_B [ROUNDS=3] [SECONDS=8]
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: $0 BINARY_A BINARY_B [ROUNDS] [SECONDS]" >&2; exit 2; }
a=$1; b=$2; rounds=${3:-3}; seconds=${4:-8}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
dir=$(mktemp -d); redis_port=$(free_port); http_port=$(free_port)
trap 'redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
cargo build --release -q --example load_withdrawals
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" --daemonize yes >/dev/null
until redis-cli -p "$redis_port" ping >/dev/null 2>&1; do sleep 0.1; done
target/release/examples/load_withdrawals "redis://127.0.0.1:$redis_port/" bench 100000 2>/dev/null
cat >"$dir/tracker.toml" <<TOML
listen = "127.0.0.1:$http_port"
redis_url = "redis://127.0.0.1:$redis_port/"
key_prefix = "bench"
[auth]
ingest_tokens = ["bench-ingest-token-0123456789"]
support_tokens = ["bench-support-token-0123456789"]
user_jwt_secret = "bench-user-jwt-secret-0123456789abcdef"
[rate_limit]
per_token_per_second = 10000000
per_token_burst = 10000000
[sla]
sweep_interval = "1h"
TOML
cat >"$dir/get.lua" <<'LUA'
math.randomseed(42)
request = function()
  local path = string.format("/v1/withdrawals/w-%07d", math.random(0, 99999))
  return wrk.format("GET", path, { ["Authorization"] = "Bearer bench-support-token-0123456789" })
end
LUA
for round in $(seq "$rounds"); do
  for bin in "$a" "$b"; do
    RUST_LOG=warn "$bin" --config "$dir/tracker.toml" 2>/dev/null & pid=$!
    until curl -s -o /dev/null "http://127.0.0.1:$http_port/healthz"; do sleep 0.1; done
    # The start-up pass over stored deadlines must not compete with the load.
    until [ "$(redis-cli -p "$redis_port" exists '{bench}:meta:sla_calendar_fingerprint')" = 1 ]; do sleep 0.2; done
    rps=$(wrk -t2 -c64 -d"${seconds}s" -s "$dir/get.lua" "http://127.0.0.1:$http_port" | awk '/Requests\/sec/{print $2}')
    echo "round $round $bin $rps req/s"
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
done
