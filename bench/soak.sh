#!/usr/bin/env bash
# The long soak (CI runs the same for 2 minutes): a generated server over HTTP
# and stdio, several clients, every upstream fault; see tests/soak.rs.
#
#   bench/soak.sh [SECONDS]     default 600
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run -q -p mcpgen-tests --example soak -- "${1:-600}"
