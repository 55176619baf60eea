#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for FUZZ_SECONDS each (default 60) and
# prints the executions per target. Installs cargo-fuzz when it is missing.
# `cargo fuzz` passes nightly-only flags (-Zsanitizer=address): on a stable
# toolchain RUSTC_BOOTSTRAP=1 lets rustc accept them.
# New inputs go to <target dir>/corpus/<target>; fuzz/corpus/<target> (the
# committed seeds) is only read. A crash leaves its input in
# fuzz/artifacts/<target>/ and makes the script fail after the other targets.
# FUZZ_TARGETS="date link" runs only those.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
dir=${FUZZ_TARGET_DIR:-${CARGO_TARGET_DIR:-target}/fuzz}
export RUSTC_BOOTSTRAP=1

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "==> cargo install cargo-fuzz"
  cargo install cargo-fuzz --locked || exit 1
fi
targets=${FUZZ_TARGETS:-$(cargo fuzz list --fuzz-dir fuzz)}
cargo fuzz build -O --fuzz-dir fuzz --target-dir "$dir" || exit 1

summary=""
failed=0
for target in $targets; do
  mkdir -p "$dir/corpus/$target" "$dir/logs"
  log="$dir/logs/$target.log"
  echo "==> $target for ${seconds} s"
  cargo fuzz run -O --fuzz-dir fuzz --target-dir "$dir" "$target" "$dir/corpus/$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1
  status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ "$status" -eq 0 ]; then
    result="ok"
  else
    result="CRASH (see $log and fuzz/artifacts/$target/)"
    failed=1
    tail -n 30 "$log"
  fi
  summary+=$(printf '%-12s %12s executions  %s' "$target" "${runs:-?}" "$result")$'\n'
done
echo
echo "Fuzzing, ${seconds} s per target:"
printf '%s' "$summary"
exit "$failed"
