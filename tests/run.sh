#!/usr/bin/env bash
# Every test, on a fresh machine (the README's test command; `.ci/run` calls
# it). Installs what the tests drive first, each step only when missing or out
# of date:
#   nginx-light    the replica test's load balancer (apt-get; root or sudo)
#   cargo-nextest  the test runner (cargo install)
#   npm packages   tests/package-lock.json: Prism, the MCP conformance suite and
#                  its Node 22, both TypeScript MCP SDKs, MCP Inspector,
#                  mcp-remote, oidc-provider, action-validator, mcpb, the corpora
#   PyPI packages  tests/python/requirements.txt: the Python MCP SDK, OpenAI's
#                  Agents SDK, hadolint, kubernetes-validate, docker-py, skillsaw
# Extra arguments go to `cargo nextest run` (e.g. a test name filter).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null
fi
command -v cargo-nextest >/dev/null || cargo install cargo-nextest --locked
npm ci --prefix tests
python3 -m pip install -r tests/python/requirements.txt
cargo nextest run --workspace --no-fail-fast "$@"
