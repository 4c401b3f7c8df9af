#!/usr/bin/env bash
# HTTP load benchmark of a generated server (petstore-mcp --http).
#
#   bench/http_load.sh [SECONDS]        # default 10 s per run
#
# Starts, on loopback only: nginx as a fast canned-JSON upstream, the release
# petstore-mcp in HTTP mode in front of it, and wrk posting `tools/call`
# (get_pet_by_id) at 8 and 64 connections, with default settings (an audit
# event per call, logged to a file). Prints calls/s and latency
# percentiles, the upstream alone as the floor, and the server's RSS idle and
# after load. Needs nginx and wrk (Debian packages); everything stops at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
for tool in wrk nginx; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { echo "needs $tool: apt-get install wrk nginx-light" >&2; exit 2; }
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

cargo build --release --quiet -p petstore-mcp
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
server_bin="$target_dir/release/petstore-mcp"

work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; exit 1; }

upstream_port=$(free_port)
cat >"$work/nginx.conf" <<CONF
daemon off; master_process off; worker_processes 1;
pid $work/nginx.pid; error_log $work/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/b; proxy_temp_path $work/p; fastcgi_temp_path $work/f; uwsgi_temp_path $work/u; scgi_temp_path $work/s;
  server {
    listen 127.0.0.1:$upstream_port;
    keepalive_requests 1000000;
    location / { default_type application/json; return 200 '{"id":1,"name":"Rex","category":"dog","status":"available","tags":["friendly"]}'; }
  }
}
CONF
"$NGINX" -p "$work" -c "$work/nginx.conf" & pids+=($!)
wait_port "$upstream_port"

server_port=$(free_port)
# wrk's callers share one token: no rate limit or bound on calls in flight, so every request is a call.
token=bench-token
PETSTORE_BASE_URL="http://127.0.0.1:$upstream_port" PETSTORE_API_KEY=bench-key PETSTORE_MCP_TOKENS=$token \
  "$server_bin" --http "127.0.0.1:$server_port" --rate-limit 0 --max-calls 4096 --max-calls-per-client 4096 \
  2>"$work/server.log" & server_pid=$!; pids+=($server_pid)
wait_port "$server_port"
rss() { awk '/VmRSS/ {printf "%.1f MiB", $2/1024}' "/proc/$1/status"; }
idle_rss=$(rss "$server_pid")

# Both runs report the same way; the call run also posts a tools/call.
report='done = function(summary, latency, requests)
  io.write(string.format("RESULT %.0f %.2f %.2f %.2f %d %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.requests))
end'
echo "$report" >"$work/get.lua"
cat >"$work/call.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2025-11-25"
wrk.headers["Authorization"] = "Bearer $token"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_pet_by_id","arguments":{"petId":1}}}'
$report
LUA

# Sanity: a real call succeeds before measuring.
curl -sf -X POST "http://127.0.0.1:$server_port/mcp" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2025-11-25' \
  -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_pet_by_id","arguments":{"petId":1}}}' \
  | grep -q '"isError":false' || { echo "the server did not answer a call correctly" >&2; exit 1; }

printf "%-34s %12s %10s %10s %10s %8s\n" "run (${duration}s, $(nproc) cores)" "requests/s" "p50 ms" "p99 ms" "max ms" "errors"
run() {
  local label=$1 conns=$2 script=$3 url=$4
  local line
  line=$(wrk -t1 -c"$conns" -d"${duration}s" --latency -s "$script" "$url" | grep '^RESULT')
  read -r _ rps p50 p99 max errors total <<<"$line"
  printf "%-34s %12s %10s %10s %10s %8s\n" "$label" "$rps" "$p50" "$p99" "$max" "$errors"
}
run "upstream alone (nginx), 64 conns" 64 "$work/get.lua" "http://127.0.0.1:$upstream_port/pets/1"
run "tools/call over HTTP, 8 conns" 8 "$work/call.lua" "http://127.0.0.1:$server_port/mcp"
run "tools/call over HTTP, 64 conns" 64 "$work/call.lua" "http://127.0.0.1:$server_port/mcp"
echo "server RSS: idle $idle_rss, after load $(rss "$server_pid")"
