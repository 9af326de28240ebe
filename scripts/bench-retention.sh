#!/usr/bin/env bash
# Retention benchmark (not a test): simulated days of steady traffic against
# a Redis of its own, the real Redis store and the real retention job driven
# by a manual clock (examples/retention_days.rs). Prints Redis used_memory per
# simulated day: with retention it must plateau once the first withdrawals
# pass RETENTION_DAYS. Prints what docs/PERFORMANCE.md records.
#
# Only memory is measured, so a debug build does (no release build needed).
#
# Usage: scripts/bench-retention.sh [DAYS=30] [PER_DAY=3000] [RETENTION_DAYS=7]
set -euo pipefail
cd "$(dirname "$0")/.."
days=${1:-30}
per_day=${2:-3000}
retention_days=${3:-7}
for tool in redis-server redis-cli; do
  command -v $tool >/dev/null || { echo "$tool is needed: apt-get install redis-server" >&2; exit 2; }
done
. scripts/bench-common.sh
dir=$(mktemp -d)
cleanup() { [ -f "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT

cargo build -q --example retention_days
redis_port=$(free_port)
start_redis "$dir" "$redis_port"
echo "== $days simulated days, $per_day withdrawals a day, retention.terminal_for = ${retention_days}d"
echo "redis-server $(redis-server --version | awk '{print $3}'), used_memory of the empty server: $(redis-cli -p "$redis_port" info memory | awk -F: '/^used_memory:/{print $2}' | tr -d '\r')"
target/debug/examples/retention_days "redis://127.0.0.1:$redis_port/" bench "$days" "$per_day" "$retention_days"
