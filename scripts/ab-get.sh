#!/usr/bin/env bash
# A/B of GET /v1/withdrawals/{id} throughput between service binaries (e.g.
# before and after a change), alternating rounds against one Redis holding
# 100,000 withdrawals, each binary in the shipped logging config (access log
# on, to a file). Not a test: prints req/s per round and binary.
#
# Usage: scripts/ab-get.sh BINARY_A BINARY_B [ROUNDS=3] [SECONDS=8]
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: $0 BINARY_A BINARY_B [ROUNDS] [SECONDS]" >&2; exit 2; }
a=$1; b=$2; rounds=${3:-3}; seconds=${4:-8}
. scripts/bench-common.sh
dir=$(mktemp -d); redis_port=$(free_port); http_port=$(free_port)
trap 'kill "$(cat "$dir/redis.pid")" 2>/dev/null || true; rm -rf "$dir"' EXIT
cargo build --release -q --example load_withdrawals
start_redis "$dir" "$redis_port"
target/release/examples/load_withdrawals "redis://127.0.0.1:$redis_port/" bench 100000 2>/dev/null
write_tracker_config "$dir/tracker.toml" "$http_port" "redis_url = \"redis://127.0.0.1:$redis_port/\""
write_get_lua "$dir/get.lua" 100000
for round in $(seq "$rounds"); do
  for bin in "$a" "$b"; do
    "$bin" --config "$dir/tracker.toml" 2>>"$dir/tracker.log" & pid=$!
    until curl -s -o /dev/null "http://127.0.0.1:$http_port/healthz"; do sleep 0.1; done
    wait_for_deadline_pass "$redis_port"
    rps=$(wrk -t2 -c64 -d"${seconds}s" -s "$dir/get.lua" "http://127.0.0.1:$http_port" | awk '/Requests\/sec/{print $2}')
    echo "round $round $bin $rps req/s"
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
done
