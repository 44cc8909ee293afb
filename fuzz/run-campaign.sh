#!/usr/bin/env bash
# Runs one fuzz campaign: ./run-campaign.sh TARGET SECONDS. Output in logs/TARGET.log.
set -u
cd "$(dirname "$0")"
target=$1; seconds=$2
RUSTC_BOOTSTRAP=1 XDG_RUNTIME_DIR=/tmp nice -n 10 cargo fuzz run -s none "$target" \
  "corpus/$target" -- -max_total_time="$seconds" -max_len=1024 -timeout=20 -rss_limit_mb=3072 \
  -artifact_prefix="artifacts/$target/" -print_final_stats=1 > "logs/$target.log" 2>&1
