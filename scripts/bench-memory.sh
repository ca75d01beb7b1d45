#!/usr/bin/env bash
# Peak RSS of every streaming command on the benchmark captures and on every hostile class
# of issue 9, with default limits, beside its target (docs/performance.md, "Memory"):
# 64 MiB on the replay captures, 128 MiB on the hostile ones.
#
# Captures (built under target/bench/ when missing):
#  - replay-100MB.pcap (cargo run --example replay; RMQDUMP_BENCH_GB=1 adds the 1 GB one),
#  - one-packet-flows, syn-flood: 1M connections of one request packet each, 1M SYNs from
#    distinct clients (cargo run --example hostile; RMQDUMP_HOSTILE_N sets the count),
#  - inflate, batch, properties, ext-fields: one frame each asking the per-frame budget for
#    far more than it allows (scripts/hostile-frames.py).
# Commands: read --json, verify, stats, stats --threads 1, check --golden (the golden blessed
# from the same binary outside the measurement, deleted afterwards), diff FILE FILE.
# Each is run once (peak RSS does not depend on load; wall times here are not a benchmark:
# scripts/bench.sh is). RMQDUMP_BENCH_ONLY: a regex on class names to run only those.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${RMQDUMP_HOSTILE_N:-1000000}"
only="${RMQDUMP_BENCH_ONLY:-.}"
cargo build --release -q
cargo build --release -q --example hostile --example replay
mkdir -p target/bench
rmq=target/release/rmqdump
classes=()
add() { # name file target-MiB
  [[ "$1" =~ $only ]] && classes+=("$1 $2 $3")
  return 0
}
add replay-100MB target/bench/replay-100MB.pcap 64
[ -n "${RMQDUMP_BENCH_GB:-}" ] && add replay-1024MB target/bench/replay-1024MB.pcap 64
add one-packet-flows "target/bench/hostile-one-packet-flows-$n.pcap" 128
add syn-flood "target/bench/hostile-syn-flood-$n.pcap" 128
for c in inflate batch properties ext-fields; do
  add "$c" "target/bench/hostile-$c.pcap" 128
done
rss_file=$(mktemp)
trap 'rm -f "$rss_file"' EXIT
over=0
printf '%-18s %-20s %9s %8s %7s %s\n' capture command "peak RSS" target "" "wall (load $(cut -d' ' -f1 /proc/loadavg))"
for entry in "${classes[@]}"; do
  read -r name f target <<< "$entry"
  if [ ! -s "$f" ]; then
    case "$name" in
      replay-*) mb=${name#replay-}; target/release/examples/replay "$f" "${mb%MB}" > /dev/null ;;
      one-packet-flows | syn-flood) target/release/examples/hostile "$name" "$n" "$f" ;;
      *) python3 scripts/hostile-frames.py "$name" "$f" ;;
    esac
  fi
  g="$f.golden.jsonl"
  $rmq check "$f" --golden "$g" --bless > /dev/null 2>&1 || true
  for c in "read --json" "verify" "stats" "stats --threads 1" "check" "diff"; do
    case "$c" in
      check) args=(check "$f" --golden "$g") ;;
      diff) args=(diff "$f" "$f") ;;
      *) read -ra args <<< "$c"; args+=("$f") ;;
    esac
    s=$(date +%s%N)
    /usr/bin/time -f "%M" -o "$rss_file" $rmq "${args[@]}" > /dev/null 2>&1 || true
    e=$(date +%s%N)
    k=$(tail -1 "$rss_file")
    verdict=ok
    if [ "$k" -gt $((target * 1024)) ]; then
      verdict=OVER
      over=$((over + 1))
    fi
    printf '%-18s %-20s %5.1f MiB %4s MiB %7s %.1f s\n' "$name" "$c" \
      "$(awk -v k="$k" 'BEGIN {print k / 1024}')" "$target" "$verdict" \
      "$(awk -v t="$(( (e - s) / 1000000 ))" 'BEGIN {print t / 1000}')"
  done
  rm -f "$g"
done
echo "$over over their target"
