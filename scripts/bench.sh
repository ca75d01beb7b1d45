#!/usr/bin/env bash
# Speed and memory on production-like traffic, beside tshark on the same file.
#
# Captures (under target/bench/):
#  1. replay-<MB>MB.pcap: copies of every bundled real capture (C++, Node, Rust, public Java
#     4.x / .NET, the bundled producer's) in equal byte shares, each copy with its own
#     client addresses (cargo run --example replay; ~16k short connections per 100 MB),
#  2. producer-<MB>MB.pcap: the synthetic Java-style producer capture (benches/synth.rs,
#     long connections of SEND_MESSAGE_V2), as a second case.
# Commands, per capture: tshark -r FILE -q -z io,stat,0; rmqdump stats; stats --threads 1;
# read --json > /dev/null; verify; check --golden (a golden blessed from the same file,
# outside the timing); diff FILE FILE. Runs alternate (one of each command per round),
# RUNS rounds; each figure is the median wall time (date, ns) and the highest peak RSS
# (/usr/bin/time %M) over the rounds, and the ratio of tshark's median to it.
#
# RMQDUMP_BENCH_MB: capture size (default 100); RMQDUMP_BENCH_GB=1: 1024 MB and 3 rounds.
# RMQDUMP_BENCH_RUNS: rounds (default 5). RMQDUMP_BENCH_SYNTH=0: skip the synthetic case.
# RMQDUMP_BENCH_DECODE=1: also run cargo bench --bench decode (the decode pass alone).
set -euo pipefail
cd "$(dirname "$0")/.."
mb="${RMQDUMP_BENCH_MB:-100}"
runs="${RMQDUMP_BENCH_RUNS:-5}"
if [ -n "${RMQDUMP_BENCH_GB:-}" ]; then
  mb=1024
  runs="${RMQDUMP_BENCH_RUNS:-3}"
fi
cargo build --release -q
cargo build --release -q --example replay
mkdir -p target/bench
replay="target/bench/replay-${mb}MB.pcap"
[ -s "$replay" ] || target/release/examples/replay "$replay" "$mb"
files=("$replay")
if [ "${RMQDUMP_BENCH_SYNTH:-1}" != 0 ]; then
  synth="target/bench/producer-${mb}MB.pcap"
  if [ -n "${RMQDUMP_BENCH_DECODE:-}" ] || [ ! -s "$synth" ]; then
    RMQDUMP_BENCH_MB="$mb" cargo bench -q --bench decode
  fi
  files+=("$synth")
fi
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rss_file=$(mktemp)
trap 'rm -f "$rss_file"' EXIT
# One run: wall time in µs (date's ns; /usr/bin/time resolves only 10 ms) and peak RSS in KB.
timed() {
  local s e
  s=$(date +%s%N)
  /usr/bin/time -f "%M" -o "$rss_file" "$@" > /dev/null 2>&1 || true
  e=$(date +%s%N)
  echo "$(( (e - s) / 1000 )) $(tail -1 "$rss_file")"
}
rmq=target/release/rmqdump
for f in "${files[@]}"; do
  g="$f.golden.jsonl"
  [ -s "$g" ] || $rmq check "$f" --golden "$g" --bless > /dev/null
  size=$(stat -c %s "$f")
  echo "== $f ($((size / 1000000)) MB, $($rmq verify "$f" | tail -1 | sed 's/.*; //'); $runs rounds, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
  cmds=("tshark" "stats" "stats --threads 1" "read --json" "verify" "check" "diff")
  declare -A out=()
  for ((r = 1; r <= runs; r++)); do
    for c in "${cmds[@]}"; do
      case "$c" in
        tshark) res=$(timed tshark -r "$f" -q -z io,stat,0) ;;
        check) res=$(timed $rmq check "$f" --golden "$g") ;;
        diff) res=$(timed $rmq diff "$f" "$f") ;;
        # shellcheck disable=SC2086
        *) res=$(timed $rmq $c "$f") ;;
      esac
      out[$c]+="$res"$'\n'
    done
  done
  ts_us=$(printf %s "${out[tshark]}" | cut -d' ' -f1 | median)
  for c in "${cmds[@]}"; do
    t=$(printf %s "${out[$c]}" | cut -d' ' -f1 | median)
    rss=$(printf %s "${out[$c]}" | cut -d' ' -f2 | sort -n | tail -1)
    ratio=$(awk -v a="$ts_us" -v b="$t" 'BEGIN {printf "%.1f", a / b}')
    printf '%-20s median %8.3f s  peak RSS %7.1f MiB  tshark/this %5sx\n' \
      "$c" "$(awk -v t="$t" 'BEGIN {print t / 1e6}')" "$(awk -v k="$rss" 'BEGIN {print k / 1024}')" "$ratio"
  done
  unset out
done
