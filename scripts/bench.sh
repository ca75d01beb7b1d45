#!/usr/bin/env bash
# Speed and memory figures on a >= 100 MB capture of producer traffic:
#  1. the decode pass (cargo bench --bench decode: every frame and message decoded, nothing
#     printed; five runs and the median),
#  2. `rmqdump read --json > /dev/null`, `rmqdump verify`, `rmqdump stats` in one pass and
#     with its default passes side by side, five runs each:
#     median wall time and peak RSS,
#  3. `tshark -r FILE -q -z io,stat,0` once, for comparison.
# RMQDUMP_BENCH_MB sets the capture size (default 128).
set -euo pipefail
cd "$(dirname "$0")/.."
mb="${RMQDUMP_BENCH_MB:-128}"
cargo build --release -q
cargo bench -q --bench decode
f="target/bench/producer-${mb}MB.pcap"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for cmd in "read --json" "verify" "stats --threads 1" "stats"; do
  : > /tmp/rmqdump-bench.times
  for _ in 1 2 3 4 5; do
    /usr/bin/time -f "%e %M" -o /tmp/rmqdump-bench.one target/release/rmqdump $cmd "$f" > /dev/null || true
    cat /tmp/rmqdump-bench.one >> /tmp/rmqdump-bench.times
  done
  t=$(cut -d' ' -f1 /tmp/rmqdump-bench.times | median)
  rss=$(cut -d' ' -f2 /tmp/rmqdump-bench.times | sort -n | tail -1)
  echo "rmqdump $cmd: median ${t} s over 5 runs, peak RSS ${rss} KB"
done
if command -v tshark >/dev/null; then
  /usr/bin/time -f "%e %M" -o /tmp/rmqdump-bench.one tshark -r "$f" -q -z io,stat,0 > /dev/null
  echo "tshark -q -z io,stat,0: $(cut -d' ' -f1 /tmp/rmqdump-bench.one) s, peak RSS $(cut -d' ' -f2 /tmp/rmqdump-bench.one) KB"
fi
