#!/usr/bin/env bash
# Coverage-guided fuzzing of every target in fuzz/src/lib.rs with libFuzzer,
# on the stable toolchain (the instrumentation cargo-fuzz asks for, minus the
# nightly-only sanitizer: -C passes=sancov-module and LLVM's coverage options
# are stable codegen flags).
#
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     default: 20 s, every target
#   fuzz/run.sh --merge [TARGET...]                  fold new inputs into the committed corpora
#                                                    (a sample: at most 150 per target)
#
# Each target starts from its committed corpus (fuzz/corpus/<target>/, read
# only) plus what earlier runs found (<target dir>/fuzz/corpus/<target>/, where
# <target dir> is CARGO_TARGET_DIR or target/). A crash of this run is kept in
# <target dir>/fuzz/artifacts/<target>/ and fails the run: minimize it
# (`<target dir>/fuzz/<host triple>/fuzz/<target> -minimize_crash=1 <file>`), fix it, and copy
# it into fuzz/regressions/<target>/, which `cargo test` replays. Prints the
# executions per target and the crashes found.
#
# MCPGEN_FUZZ_PLANT=1 also feeds each target the input it then crashes on
# (mcpgen_fuzz::PLANTED_CRASH): CI's check that a crash fails this script.
set -euo pipefail
cd "$(dirname "$0")/.."

merge=false
seconds=20
if [ "${1:-}" = "--merge" ]; then merge=true; shift
elif [[ "${1:-}" =~ ^[0-9]+$ ]]; then seconds=$1; shift; fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(spec_json spec_yaml schema selection arguments redaction stdio_frames http_frames)

export RUSTFLAGS="--cfg fuzzing -C passes=sancov-module -C llvm-args=-sanitizer-coverage-level=4 \
-C llvm-args=-sanitizer-coverage-inline-8bit-counters -C llvm-args=-sanitizer-coverage-pc-table \
-C llvm-args=-sanitizer-coverage-trace-compares"
# Its own target directory: these flags would otherwise rebuild the workspace's.
# An explicit --target keeps them off build scripts, which must link without libFuzzer.
out="${CARGO_TARGET_DIR:-target}/fuzz"
host=$(rustc -vV | sed -n 's/^host: //p')
cargo build --profile fuzz --locked -p mcpgen-fuzz --features libfuzzer --bins --target "$host" --target-dir "$out" -q
bin="$out/$host/fuzz"

planted=()
if [ -n "${MCPGEN_FUZZ_PLANT:-}" ]; then
  plant_dir=$(mktemp -d)
  printf '%s' 'mcpgen: a planted crash' >"$plant_dir/planted"
  planted=("$plant_dir")
fi

status=0
printf '%-10s %12s %10s %8s %s\n' target executions exec/s corpus crashes
for t in "${targets[@]}"; do
  # Crashes are this run's: an earlier run's (a fixed one, or the planted one) don't count.
  rm -rf "$out/artifacts/$t"
  mkdir -p "$out/corpus/$t" "$out/artifacts/$t" "fuzz/corpus/$t"
  if $merge; then
    "$bin/$t" -merge=1 "fuzz/corpus/$t" "$out/corpus/$t" 2>/dev/null
    # A fixed sample of what the merge kept (names are content hashes), so the
    # repository and `cargo test`'s replay stay small; hand-written seeds stay.
    (cd "fuzz/corpus/$t" && ls | grep -E '^[0-9a-f]{40}$' | sort | tail -n +151 | xargs -r rm -f)
    echo "$t: $(ls "fuzz/corpus/$t" | wc -l) inputs in fuzz/corpus/$t"
    continue
  fi
  log="$out/$t.log"
  # -rss_limit_mb: a spec may be big, but a run past 2 GiB is a finding too.
  if ! "$bin/$t" "$out/corpus/$t" "fuzz/corpus/$t" ${planted[@]+"${planted[@]}"} -max_total_time="$seconds" -timeout=10 \
      -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 -artifact_prefix="$out/artifacts/$t/" >"$log" 2>&1; then
    status=1
  fi
  execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
  speed=$(awk '/stat::average_exec_per_sec/ {print $2}' "$log")
  crashes=$(find "$out/artifacts/$t" -type f | wc -l)
  printf '%-10s %12s %10s %8s %s\n' "$t" "${execs:-?}" "${speed:-?}" "$(ls "$out/corpus/$t" | wc -l)" "$crashes"
  if [ "$crashes" -gt 0 ]; then
    status=1
    grep -m1 -A12 -E "panicked|ERROR: libFuzzer" "$log" >&2 || tail -20 "$log" >&2
  fi
done
exit $status
