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
