#!/usr/bin/env bash
# A/B of GET /v1/withdrawals/{id} throughput between service binaries (e.g.
# before and after a change), alternating rounds against one Redis holding
# 100,000 withdrawals, each binary in the shipped logging config (access log
# on, to a file). Not a test: prints req/s and the server's CPU time (user +
# system, from /proc/<pid>/stat) per request, per round and binary, then
# each binary's median CPU per request: on a shared machine the CPU per
# request is the figure, throughput moves with the other load.
#
# With AB_STORE=memory both run on the in-memory store instead, each start
# given AB_COUNT (default 20000) withdrawals through its API first.
#
# Usage: scripts/ab-get.sh BINARY_A BINARY_B [ROUNDS=3] [SECONDS=8]
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: $0 BINARY_A BINARY_B [ROUNDS] [SECONDS]" >&2; exit 2; }
a=$1; b=$2; rounds=${3:-3}; seconds=${4:-8}
. scripts/bench-common.sh
dir=$(mktemp -d); redis_port=$(free_port); http_port=$(free_port)
trap '[ -f "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null; rm -rf "$dir"' EXIT
cargo build --release -q --example load_withdrawals
store=${AB_STORE:-redis}
if [ "$store" = memory ]; then
  count=${AB_COUNT:-20000}
  write_tracker_config "$dir/tracker.toml" "$http_port" ""
  cat >"$dir/register.lua" <<LUA
local next_id = 0
request = function()
  if next_id >= $count then return wrk.format("GET", "/healthz") end
  local i = next_id
  next_id = next_id + 1
  local body = string.format('{"id":"w-%07d","user_id":"u-%d","coin":"USDT","network":"TRX","address":"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t","amount":"%d.%02d"}', i, i % 20000, 10 + i % 5000, i % 100)
  return wrk.format("POST", "/v1/withdrawals", { ["Authorization"] = "Bearer $BENCH_INGEST_TOKEN", ["Content-Type"] = "application/json" }, body)
end
LUA
  last=$(printf 'w-%07d' $((count - 1)))
else
  count=100000
  start_redis "$dir" "$redis_port"
  target/release/examples/load_withdrawals "redis://127.0.0.1:$redis_port/" bench "$count" 2>/dev/null
  write_tracker_config "$dir/tracker.toml" "$http_port" "redis_url = \"redis://127.0.0.1:$redis_port/\""
fi
write_get_lua "$dir/get.lua" "$count"
# prepare: the in-memory service gets its withdrawals (one wrk thread numbers
# them, stopped once the last is there); the Redis one finishes its start-up
# pass over the stored deadlines.
prepare() {
  if [ "$store" = memory ]; then
    wrk -t1 -c16 -d600s -s "$dir/register.lua" "http://127.0.0.1:$http_port" >/dev/null & register=$!
    until [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $BENCH_SUPPORT_TOKEN" "http://127.0.0.1:$http_port/v1/withdrawals/$last")" = 200 ]; do sleep 0.2; done
    kill "$register"; wait "$register" 2>/dev/null || true
    register_first "$http_port"
  else
    wait_for_deadline_pass "$redis_port"
  fi
}
cpu_a=(); cpu_b=()
for round in $(seq "$rounds"); do
  for bin in "$a" "$b"; do
    "$bin" --config "$dir/tracker.toml" 2>>"$dir/tracker.log" & pid=$!
    until curl -s -o /dev/null "http://127.0.0.1:$http_port/healthz"; do sleep 0.1; done
    prepare
    before=$(cpu_ticks "$pid")
    out=$(wrk -t2 -c64 -d"${seconds}s" -s "$dir/get.lua" "http://127.0.0.1:$http_port")
    ticks=$(( $(cpu_ticks "$pid") - before ))
    rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
    requests=$(echo "$out" | awk '/requests in/{print $1}')
    us=$(python3 -c "print(f'{$ticks * 1e6 / $(getconf CLK_TCK) / $requests:.1f}')")
    echo "round $round $bin $rps req/s, $us us of CPU per request"
    if [ "$bin" = "$a" ]; then cpu_a+=("$us"); else cpu_b+=("$us"); fi
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
done
echo "median CPU per request: A $(median "${cpu_a[@]}") us, B $(median "${cpu_b[@]}") us"
