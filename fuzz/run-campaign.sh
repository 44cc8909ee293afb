#!/usr/bin/env bash
# Runs one fuzz campaign: ./run-campaign.sh TARGET RUNS (RUNS executions, e.g. 1000000).
# The checked-in corpus/TARGET seeds a working corpus in $TK_FUZZ_WORK/TARGET (default
# /tmp/tk-fuzz), so the campaign's growth stays out of git; crashes go to artifacts/TARGET/.
# Output in logs/TARGET.log (libFuzzer's final stats at the end: `stat::number_of_executed_units`).
set -u
cd "$(dirname "$0")"
target=$1; runs=$2
work=${TK_FUZZ_WORK:-/tmp/tk-fuzz}/$target
mkdir -p "$work" logs "artifacts/$target"
cp -n corpus/"$target"/* "$work"/ 2>/dev/null || true
RUSTC_BOOTSTRAP=1 XDG_RUNTIME_DIR=/tmp nice -n 10 cargo fuzz run -s none "$target" "$work" -- \
  -runs="$runs" -max_len=1024 -timeout=20 -rss_limit_mb=3072 \
  -artifact_prefix="artifacts/$target/" -print_final_stats=1 > "logs/$target.log" 2>&1
