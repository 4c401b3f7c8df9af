#!/usr/bin/env bash
# What the tests drive, installed on a fresh machine (the first half of the
# README's test command, which `.ci/run` runs word for word), each step only
# when missing or out of date:
#   nginx-light    the replica tests' load balancer (apt-get; root or sudo)
#   redis-server   the shared state store replicas use (apt-get; started by the tests)
#   chromium       the headless browser a person uses the connect page in (apt-get)
#   cargo-nextest  the test runner (cargo install)
#   npm packages   tests/package-lock.json: Prism, the MCP conformance suite and
#                  its Node 22, both TypeScript MCP SDKs, MCP Inspector,
#                  mcp-remote, oidc-provider, puppeteer-core, action-validator,
#                  mcpb, the corpora
#   PyPI packages  tests/python/requirements.txt: the Python MCP SDK, OpenAI's
#                  Agents SDK, hadolint, kubernetes-validate, docker-py, skillsaw
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v chromium >/dev/null || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v cargo-nextest >/dev/null || cargo install cargo-nextest --locked
npm ci --prefix tests
python3 -m pip install -r tests/python/requirements.txt
