#!/usr/bin/env bash
# Short run of every cargo-fuzz target, the capture target seeded with the bundled captures.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 20)
# Installs cargo-fuzz once (cargo install) if it is missing. The stable toolchain builds
# the targets with RUSTC_BOOTSTRAP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-20}"
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz (once)..."
  cargo install --locked cargo-fuzz
fi
export RUSTC_BOOTSTRAP=1
mkdir -p fuzz/corpus/capture
for f in captures/*/*.pcap* captures/public/*/*.pcap; do
  cp -f "$f" "fuzz/corpus/capture/$(basename "$f")"
done
for t in frame json_header binary_header bodies capture; do
  echo "== fuzz $t for ${secs}s"
  if ! cargo fuzz run "$t" -- -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 >"fuzz/$t.log" 2>&1; then
    tail -n 80 "fuzz/$t.log"
    echo "fuzz target $t FAILED (log: fuzz/$t.log, reproducer in fuzz/artifacts/$t/)"
    exit 1
  fi
  tail -n 2 "fuzz/$t.log"
done
