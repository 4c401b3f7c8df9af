#!/usr/bin/env bash
# What sharing state costs, side by side in one run: the release petstore-mcp
# with its state in memory and on a shared Redis (see bench/state.py).
#
#   bench/state.sh            # 10 s per load run (~2 minutes)
#   bench/state.sh --smoke    # 2 s per run (CI runs this so the benchmark never rots)
#
# Installs what it needs first (Debian): wrk, nginx-light, redis-server.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v redis-server >/dev/null || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
exec python3 bench/state.py "$@"
