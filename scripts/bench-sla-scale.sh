#!/usr/bin/env bash
# Sweeper and overdue-list scale benchmark on a Redis of its own.
# Usage: scripts/bench-sla-scale.sh [LARGE=1000000] [SMALL=100000] [DUE=1000]
set -euo pipefail
cd "$(dirname "$0")/.."
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dir=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" --daemonize yes --pidfile "$dir/redis.pid" >/dev/null
trap 'kill "$(cat "$dir/redis.pid")" 2>/dev/null; rm -rf "$dir"' EXIT
until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.1; done
cargo build --release --example sla_scale -q
./target/release/examples/sla_scale "redis://127.0.0.1:$port/" "${1:-1000000}" "${2:-100000}" "${3:-1000}"
echo "redis used_memory: $(redis-cli -p "$port" info memory | grep '^used_memory_human' | cut -d: -f2)"
