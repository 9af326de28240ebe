#!/usr/bin/env bash
# Load benchmark (not a test): the service against a minimal actix-web + Redis
# baseline, measured in the same run on the same machine with wrk from a
# second process. Prints what docs/PERFORMANCE.md records.
#
# Usage: scripts/bench-load.sh [WITHDRAWALS=100000] [SECONDS=15] [CONNECTIONS=64]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-100000}
seconds=${2:-15}
connections=${3:-64}
. scripts/bench-common.sh
bench_start wrk redis-server redis-cli
used() { redis-cli -p "$redis_port" info memory | awk -F: '/^used_memory:/{print $2}' | tr -d '\r'; }

# memory_per_withdrawal LABEL PREFIX [LOADER FLAG]: loads $count withdrawals
# under PREFIX and prints how much Redis memory each one added.
memory_per_withdrawal() {
  local before after
  before=$(used)
  $bin/examples/load_withdrawals "$redis_url" "$2" "$count" ${3:+"$3"}
  after=$(used)
  echo "redis memory per $1: $(( (after - before) / count )) bytes (used_memory $before -> $after)"
}

echo "== loading $count withdrawals through the store"
memory_per_withdrawal withdrawal bench
# The same for withdrawals registered with their hash (broadcast: watched by
# the chain tracker too), under another prefix so the GET load is unchanged.
memory_per_withdrawal "broadcast withdrawal" bench-broadcast --broadcast
# And as the tracker leaves them once its first lookup found them in the mempool.
memory_per_withdrawal "broadcast withdrawal after the tracker's lookup" bench-looked-up --looked-up
redis-cli -p "$redis_port" flushall >/dev/null
$bin/examples/load_withdrawals "$redis_url" bench "$count"
$bin/examples/load_withdrawals "$redis_url" bench "$count" --baseline

write_config() { write_tracker_config "$dir/tracker-$1.toml" "$1" "$2"; } # $1 port, $2 redis line
wait_up() { until curl -s -o /dev/null "http://127.0.0.1:$1/healthz" 2>/dev/null || curl -s -o /dev/null "http://127.0.0.1:$1/v1/withdrawals/w-0000000" 2>/dev/null; do sleep 0.1; done; }

write_get_lua "$dir/get.lua" "$count"
cat >"$dir/post.lua" <<LUA
local counter = 0
local thread_id = 0
local run = os.time()
setup = function(thread) thread:set("tid", thread_id); thread_id = thread_id + 1 end
request = function()
  counter = counter + 1
  local body = string.format('{"id":"p-%d-%d-%d","user_id":"u-%d","coin":"USDT","network":"TRX","address":"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t","amount":"12.5"}', run, tid, counter, counter % 1000)
  return wrk.format("POST", "/v1/withdrawals", { ["Authorization"] = "Bearer $BENCH_INGEST_TOKEN", ["Content-Type"] = "application/json" }, body)
end
LUA

baseline_port=$(free_port)
$bin/examples/baseline_get "$redis_url" bench "127.0.0.1:$baseline_port" & baseline_pid=$!; pids+=($baseline_pid)
strict_port=$(free_port)
$bin/examples/baseline_get "$redis_url" bench "127.0.0.1:$strict_port" --connection-per-worker & strict_pid=$!; pids+=($strict_pid)
tracker_port=$(free_port)
write_config "$tracker_port" "redis_url = \"$redis_url\""
$bin/withdrawal-tracker --config "$dir/tracker-$tracker_port.toml" 2>"$dir/tracker.log" & tracker_pid=$!; pids+=($tracker_pid)
wait_up "$baseline_port"; wait_up "$strict_port"; wait_up "$tracker_port"
wait_for_deadline_pass "$redis_port"

# The baselines and the service alternate for five rounds, so drift in the
# machine's speed hits all three; the median ratio is the figure. The
# baseline is the shared-connection handler; the per-worker one is the
# stricter reference (the service connects per worker too).
ratios=()
strict_ratios=()
for round in 1 2 3 4 5; do
  run_wrk "round $round baseline: one Redis GET per request" "http://127.0.0.1:$baseline_port" "$dir/get.lua" "$baseline_pid"
  baseline_rps=$rps
  run_wrk "round $round stricter baseline: the same, a Redis connection per worker" "http://127.0.0.1:$strict_port" "$dir/get.lua" "$strict_pid"
  strict_rps=$rps
  run_wrk "round $round service: GET /v1/withdrawals/{id} (Redis, $count withdrawals)" "http://127.0.0.1:$tracker_port" "$dir/get.lua" "$tracker_pid"
  ratios+=("$(ratio "$rps" "$baseline_rps")")
  strict_ratios+=("$(ratio "$rps" "$strict_rps")")
  echo "   ratio service/baseline: ${ratios[-1]}; service/stricter baseline: ${strict_ratios[-1]}"
done
echo "GET throughput ratios: ${ratios[*]}; median $(median "${ratios[@]}")"
echo "GET throughput ratios to the stricter baseline: ${strict_ratios[*]}; median $(median "${strict_ratios[@]}")"
run_wrk "service: POST /v1/withdrawals (Redis)" "http://127.0.0.1:$tracker_port" "$dir/post.lua"

memory_port=$(free_port)
write_config "$memory_port" ""
$bin/withdrawal-tracker --config "$dir/tracker-$memory_port.toml" 2>"$dir/memory.log" & memory_pid=$!; pids+=($memory_pid)
wait_up "$memory_port"
echo "== in-memory store: POST until at least $count withdrawals"
posted=0
while [ "$posted" -lt "$count" ]; do
  # Full load while far from the count, then one connection so the count is
  # overshot by little.
  if [ $(( count - posted )) -gt 40000 ]; then c=$connections; t=2; else c=1; t=1; fi
  out=$(wrk -t"$t" -c"$c" -d1s -s "$dir/post.lua" "http://127.0.0.1:$memory_port")
  posted=$(( posted + $(echo "$out" | awk '/requests in/{print $1}') ))
done
rss_kb=$(awk '/VmRSS/{print $2}' /proc/$memory_pid/status)
echo "service RSS with about $posted withdrawals on the in-memory store: $(( rss_kb / 1024 )) MiB"
