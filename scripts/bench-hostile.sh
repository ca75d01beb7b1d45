#!/usr/bin/env bash
# Hostile captures at full size (examples/hostile.rs, rmqdump::capture::hostile), and what
# rmqdump costs on them with default limits: wall time and peak RSS of stats, read --json
# and verify, RUNS runs each (median time, highest RSS).
#  - one-packet-flows: 1M connections of one request packet each, never answered
#    (limits: --max-flows, 65,536 by default),
#  - syn-flood: 1M SYNs from distinct clients (limits: --max-half-open-flows, 16,384).
# RMQDUMP_HOSTILE_N: packets per class (default 1000000); RMQDUMP_BENCH_RUNS (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
n="${RMQDUMP_HOSTILE_N:-1000000}"
runs="${RMQDUMP_BENCH_RUNS:-3}"
cargo build --release -q
cargo build --release -q --example hostile
mkdir -p target/bench
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rss_file=$(mktemp)
trap 'rm -f "$rss_file"' EXIT
for class in one-packet-flows syn-flood; do
  f="target/bench/hostile-$class-$n.pcap"
  [ -s "$f" ] || target/release/examples/hostile "$class" "$n" "$f"
  echo "== $class: $f ($(($(stat -c %s "$f") / 1000000)) MB, $n packets; load $(cut -d' ' -f1-3 /proc/loadavg))"
  for c in "stats" "read --json" "verify"; do
    times=""
    rss=0
    for ((r = 1; r <= runs; r++)); do
      s=$(date +%s%N)
      # shellcheck disable=SC2086
      /usr/bin/time -f "%M" -o "$rss_file" target/release/rmqdump $c "$f" > /dev/null 2>&1 || true
      e=$(date +%s%N)
      times+="$(( (e - s) / 1000 ))"$'\n'
      k=$(tail -1 "$rss_file")
      [ "$k" -gt "$rss" ] && rss=$k
    done
    t=$(printf %s "$times" | median)
    printf '%-12s median %8.3f s  peak RSS %7.1f MiB\n' "$c" \
      "$(awk -v t="$t" 'BEGIN {print t / 1e6}')" "$(awk -v k="$rss" 'BEGIN {print k / 1024}')"
  done
  # What the limits reported (the summary problem), once.
  target/release/rmqdump read "$f" 2>&1 > /dev/null | grep -m1 "evicted at the flow limits" || true
done
