#!/usr/bin/env bash
# Speed and memory figures on a >= 100 MB capture of producer traffic:
#  1. the decode pass (cargo bench --bench decode: every frame and message decoded, nothing
#     printed; five runs and the median),
#  2. `rmqdump read --json > /dev/null`, `rmqdump verify`, `rmqdump stats` in one pass and
#     with its default passes side by side, five runs each:
#     median wall time and peak RSS,
#  3. `tshark -r FILE -q -z io,stat,0` once, for comparison, and the ratio to `stats`.
# RMQDUMP_BENCH_MB sets the capture size (default 128).
set -euo pipefail
cd "$(dirname "$0")/.."
mb="${RMQDUMP_BENCH_MB:-128}"
cargo build --release -q
[ -n "${RMQDUMP_BENCH_SKIP_DECODE:-}" ] || cargo bench -q --bench decode
f="target/bench/producer-${mb}MB.pcap"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# Wall time in µs of a run on its own (date's nanoseconds: /usr/bin/time resolves only
# 10 ms and adds its own start-up), then peak RSS from a second run under /usr/bin/time.
timed() {
  local s e
  s=$(date +%s%N)
  "$@" > /dev/null 2>&1 || true
  e=$(date +%s%N)
  /usr/bin/time -f "%M" -o /tmp/rmqdump-bench.rss "$@" > /dev/null 2>&1 || true
  echo "$(( (e - s) / 1000 )) $(cat /tmp/rmqdump-bench.rss)"
}
for cmd in "read --json" "verify" "stats --threads 1" "stats"; do
  : > /tmp/rmqdump-bench.times
  for _ in 1 2 3 4 5; do
    # shellcheck disable=SC2086
    timed target/release/rmqdump $cmd "$f" >> /tmp/rmqdump-bench.times
  done
  t=$(cut -d' ' -f1 /tmp/rmqdump-bench.times | median)
  rss=$(cut -d' ' -f2 /tmp/rmqdump-bench.times | sort -n | tail -1)
  echo "rmqdump $cmd: median $((t / 1000)).$(printf %03d $((t % 1000))) ms over 5 runs (wall), peak RSS ${rss} KB"
  [ "$cmd" = "stats" ] && stats_us=$t
done
if command -v tshark >/dev/null; then
  read -r ts trss < <(timed tshark -r "$f" -q -z io,stat,0)
  echo "tshark -q -z io,stat,0: $((ts / 1000)) ms, peak RSS ${trss} KB"
  echo "stats is $(awk -v a="$ts" -v b="$stats_us" 'BEGIN {printf "%.1f", a / b}') times faster than tshark io,stat"
fi
