#!/usr/bin/env bash
# GET benchmark (not a test): GET /v1/withdrawals/{id} on the service in its
# shipped logging config (RUST_LOG unset, so the access log is on at info:
# one JSON line per request, to a file) against minimal actix-web handlers
# answering a body of the same size, measured in interleaved rounds in one
# run with wrk from a second process:
#   - the service on Redis / examples/baseline_get (one Redis GET, shared
#     connection) and the stricter baseline (a connection per worker);
#   - the service on its in-memory store / baseline_get --in-memory (a map
#     lookup, no lock, no copy).
# Prints each round's ratios, their medians, the service's p99 latency, and
# how many access-log lines were written and dropped (so the log was on).
#
# Usage: scripts/bench-get.sh [WITHDRAWALS=100000] [SECONDS=10] [CONNECTIONS=64] [ROUNDS=5]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-100000}
seconds=${2:-10}
connections=${3:-64}
rounds=${4:-5}
. scripts/bench-common.sh
bench_start wrk redis-server redis-cli curl
echo "== loading $count withdrawals into Redis, and their views for the baselines"
$bin/examples/load_withdrawals "$redis_url" bench "$count"
$bin/examples/load_withdrawals "$redis_url" bench "$count" --baseline

wait_up() { until curl -s -o /dev/null "http://127.0.0.1:$1/healthz" 2>/dev/null || curl -s -o /dev/null "http://127.0.0.1:$1/v1/withdrawals/w-0000000" 2>/dev/null; do sleep 0.1; done; }
write_get_lua "$dir/get.lua" "$count"

baseline_port=$(free_port)
$bin/examples/baseline_get "$redis_url" bench "127.0.0.1:$baseline_port" & baseline_pid=$!; pids+=($baseline_pid)
strict_port=$(free_port)
$bin/examples/baseline_get "$redis_url" bench "127.0.0.1:$strict_port" --connection-per-worker & strict_pid=$!; pids+=($strict_pid)
memory_baseline_port=$(free_port)
$bin/examples/baseline_get "$redis_url" bench "127.0.0.1:$memory_baseline_port" --in-memory & memory_baseline_pid=$!; pids+=($memory_baseline_pid)
tracker_port=$(free_port)
write_tracker_config "$dir/tracker-redis.toml" "$tracker_port" "redis_url = \"$redis_url\""
$bin/withdrawal-tracker --config "$dir/tracker-redis.toml" 2>>"$dir/tracker.log" & tracker_pid=$!; pids+=($tracker_pid)
memory_port=$(free_port)
write_tracker_config "$dir/tracker-memory.toml" "$memory_port" ""
$bin/withdrawal-tracker --config "$dir/tracker-memory.toml" 2>>"$dir/memory.log" & memory_pid=$!; pids+=($memory_pid)
for port in "$baseline_port" "$strict_port" "$memory_baseline_port" "$tracker_port" "$memory_port"; do wait_up "$port"; done
wait_for_deadline_pass "$redis_port"

# The in-memory service gets the same withdrawals (same ids, users, amounts)
# through its API: one wrk thread numbers them; it is stopped once the last
# one is there.
echo "== registering $count withdrawals on the in-memory service"
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
wrk -t1 -c16 -d600s -s "$dir/register.lua" "http://127.0.0.1:$memory_port" >/dev/null & register_pid=$!; pids+=($register_pid)
last=$(printf 'w-%07d' $((count - 1)))
has_last() { [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $BENCH_SUPPORT_TOKEN" "http://127.0.0.1:$memory_port/v1/withdrawals/$last")" = 200 ]; }
until has_last; do sleep 0.5; done
kill "$register_pid"; wait "$register_pid" 2>/dev/null || true
register_first "$memory_port"
echo "   view sizes: service $(curl -s -H "Authorization: Bearer $BENCH_SUPPORT_TOKEN" "http://127.0.0.1:$memory_port/v1/withdrawals/$last" | wc -c) bytes, baseline $(curl -s "http://127.0.0.1:$memory_baseline_port/v1/withdrawals/$last" | wc -c) bytes"
# The registrations' log lines are not part of what is measured.
: >"$dir/memory.log"

ratios=(); strict_ratios=(); memory_ratios=(); p99s=(); memory_p99s=()
for round in $(seq "$rounds"); do
  run_wrk "round $round baseline: one Redis GET per request" "http://127.0.0.1:$baseline_port" "$dir/get.lua" "$baseline_pid"
  baseline_rps=$rps
  run_wrk "round $round stricter baseline: the same, a Redis connection per worker" "http://127.0.0.1:$strict_port" "$dir/get.lua" "$strict_pid"
  strict_rps=$rps
  run_wrk "round $round service on Redis ($count withdrawals), access log on" "http://127.0.0.1:$tracker_port" "$dir/get.lua" "$tracker_pid"
  ratios+=("$(ratio "$rps" "$baseline_rps")"); strict_ratios+=("$(ratio "$rps" "$strict_rps")"); p99s+=("$p99")
  run_wrk "round $round in-memory baseline: a map lookup" "http://127.0.0.1:$memory_baseline_port" "$dir/get.lua" "$memory_baseline_pid"
  memory_baseline_rps=$rps
  run_wrk "round $round service on the in-memory store, access log on" "http://127.0.0.1:$memory_port" "$dir/get.lua" "$memory_pid"
  memory_ratios+=("$(ratio "$rps" "$memory_baseline_rps")"); memory_p99s+=("$p99")
  echo "   ratios: service/baseline ${ratios[-1]}; service/stricter baseline ${strict_ratios[-1]}; in-memory service/in-memory baseline ${memory_ratios[-1]}"
done

logged() { grep -c '"message":"request"' "$1" || true; }
dropped() { curl -s "http://127.0.0.1:$1/metrics" | awk '/^withdrawal_tracker_log_lines_dropped_total /{print $2}'; }
echo "== summary: $rounds rounds of ${seconds}s, $connections connections"
echo "GET ratio service/baseline (Redis): ${ratios[*]}; median $(median "${ratios[@]}") (target >= 0.8)"
echo "GET ratio service/stricter baseline (Redis): ${strict_ratios[*]}; median $(median "${strict_ratios[@]}")"
echo "GET ratio service/baseline (in-memory): ${memory_ratios[*]}; median $(median "${memory_ratios[@]}") (target >= 0.7)"
echo "GET p99 of the service on Redis (ms): ${p99s[*]}; median $(median "${p99s[@]}") (target <= 5)"
echo "GET p99 of the service in memory (ms): ${memory_p99s[*]}; median $(median "${memory_p99s[@]}")"
echo "access-log lines written: Redis service $(logged "$dir/tracker.log"), in-memory service $(logged "$dir/memory.log"); dropped: $(dropped "$tracker_port") and $(dropped "$memory_port")"
