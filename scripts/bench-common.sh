# Shared by the benchmark scripts (sourced, not run): a Redis of their own,
# the service's config, and the wrk script for GET load.

BENCH_SUPPORT_TOKEN=bench-support-token-0123456789
BENCH_INGEST_TOKEN=bench-ingest-token-0123456789

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_redis DIR PORT: a throwaway redis-server, no persistence; its pid in DIR/redis.pid.
start_redis() {
  redis-server --port "$2" --bind 127.0.0.1 --save "" --appendonly no --dir "$1" --daemonize yes --pidfile "$1/redis.pid" >/dev/null
  until redis-cli -p "$2" ping >/dev/null 2>&1; do sleep 0.1; done
}

# write_tracker_config FILE PORT REDIS_LINE: the service on PORT with the
# bench tokens, rate limits lifted and no sweep during the run.
write_tracker_config() {
  cat >"$1" <<TOML
listen = "127.0.0.1:$2"
$3
key_prefix = "bench"
log_format = "json"
[auth]
ingest_tokens = ["$BENCH_INGEST_TOKEN"]
support_tokens = ["$BENCH_SUPPORT_TOKEN"]
user_jwt_secret = "bench-user-jwt-secret-0123456789abcdef"
[rate_limit]
per_token_per_second = 10000000
per_token_burst = 10000000
[sla]
sweep_interval = "1h"
TOML
}

# register_first PORT: registers w-0000000 as the register loops' first call
# would have: wrk builds one request from the script before it starts
# sending, and that first call, which numbered id 0, is never sent.
register_first() {
  curl -s -o /dev/null -X POST -H "Authorization: Bearer $BENCH_INGEST_TOKEN" -H 'Content-Type: application/json' \
    -d '{"id":"w-0000000","user_id":"u-0","coin":"USDT","network":"TRX","address":"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t","amount":"10.00"}' \
    "http://127.0.0.1:$1/v1/withdrawals"
}

# write_get_lua FILE COUNT: wrk requests for random ids among the first COUNT loaded.
write_get_lua() {
  cat >"$1" <<LUA
math.randomseed(42)
request = function()
  local path = string.format("/v1/withdrawals/w-%07d", math.random(0, $2 - 1))
  return wrk.format("GET", path, { ["Authorization"] = "Bearer $BENCH_SUPPORT_TOKEN" })
end
LUA
}

# wait_for_deadline_pass REDIS_PORT: at start the service checks every stored
# deadline against its calendar (the loader wrote none of its marker); that
# background pass must not compete with whatever is measured first.
wait_for_deadline_pass() {
  until [ "$(redis-cli -p "$1" exists '{bench}:meta:sla_calendar_fingerprint')" = 1 ]; do sleep 0.2; done
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run_wrk LABEL URL SCRIPT [SERVER_PID]: wrk -t2 with $connections for
# $seconds; prints the summary (and the server's CPU per request), leaves
# req/s in $rps and the 99th percentile in milliseconds in $p99.
run_wrk() {
  echo "== $1"
  [ -n "${4:-}" ] && before=$(cpu_ticks "$4")
  out=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$3" "$2")
  echo "$out" | grep -E "Requests/sec|^ +(50|99)%|Non-2xx|Socket errors" | sed 's/^/   /'
  rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {v = $2; f = 1; if (v ~ /us$/) f = 0.001; else if (v ~ /ms$/) f = 1; else if (v ~ /s$/) f = 1000; sub(/[a-z]+$/, "", v); print v * f}')
  if [ -n "${4:-}" ]; then
    requests=$(echo "$out" | awk '/requests in/{print $1}')
    ticks=$(( $(cpu_ticks "$4") - before ))
    echo "    server CPU (user+system): $(python3 -c "print(f'{$ticks * 1e6 / $(getconf CLK_TCK) / $requests:.1f}')") us per request"
  fi
}

# median VALUE...: the middle value (the mean of the two middle ones for an even count).
median() {
  printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

# ratio A B: A / B to three decimals.
ratio() { python3 -c "print(f'{$1 / $2:.3f}')"; }

# bench_start TOOL...: what every GET benchmark does first. Fails naming a
# missing tool; sets dir (removed at exit), pids (killed at exit), bin (the
# release build of the service and the benchmark examples), redis_port and
# redis_url (a throwaway Redis).
bench_start() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$tool is needed (apt-get install wrk redis-server curl)" >&2; exit 2; }
  done
  dir=$(mktemp -d)
  pids=()
  trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"' EXIT
  cargo build --release -q --bin withdrawal-tracker --example baseline_get --example load_withdrawals
  bin=target/release
  redis_port=$(free_port)
  start_redis "$dir" "$redis_port"
  pids+=("$(cat "$dir/redis.pid")")
  redis_url="redis://127.0.0.1:$redis_port/"
}
