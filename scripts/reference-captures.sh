#!/usr/bin/env bash
# Regenerates captures/reference/: the bundled producer's own traffic against the real
# rocketmq-rust servers (scripts/peers.sh start), one capture and manifest per send mode.
# Each capture is the producer's --record output; `rmqdump verify X.pcap --manifest
# X.manifest.json` checks it, and the tests do so for every one.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
out=captures/reference
mkdir -p "$out"
bin=target/release/rmqdump
run() {  # run NAME ARGS...
  local name="$1"; shift
  "$bin" produce --topic "RmqdumpRef_${name}" --group rmqdump_reference --tags TagA,TagB --keys "$name" \
    --property origin=rmqdump --record "$out/$name.pcap" --manifest "$out/$name.manifest.json" "$@"
}
run sync-json --count 6 --size 100
run sync-rocketmq --count 6 --size 100 --serialize rocketmq
run async --count 12 --size 100 --mode async --concurrency 4
run oneway --count 4 --size 100 --mode oneway
run batch --count 6 --size 100 --batch 3
run compressed --count 3 --size 20000
for f in "$out"/*.pcap; do "$bin" verify "$f" --manifest "${f%.pcap}.manifest.json" | tail -n 1; done
