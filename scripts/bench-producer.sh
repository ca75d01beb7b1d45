#!/usr/bin/env bash
# Producer throughput on the local servers (scripts/peers.sh start), compared in one run with
# an independent producer: the rocketmq-client-rust 1.0.0 capture harness from
# ../shared/peers/rust-producer (built once into $RMQDUMP_PEERS/rustpeer).
#   scripts/bench-producer.sh [COUNT]    (default 2000 messages of 1 KiB per mode)
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-2000}"
ROOT="${RMQDUMP_PEERS:-/opt/rmqdump-peers}"
HARNESS_SRC="$(cd .. && pwd)/shared/peers/rust-producer"
HARNESS="$ROOT/rustpeer/release/rmq-capture-producer"
if [ ! -x "$HARNESS" ]; then
  echo "building the rocketmq-client-rust harness (once, ~15 min)..."
  (cd "$HARNESS_SRC" && CARGO_TARGET_DIR="$ROOT/rustpeer" cargo build --release --locked)
fi
cargo build --release -q
tmp="$(mktemp -d)"
for mode in sync async; do
  python3 - "$N" "$mode" > "$tmp/spec-$mode.json" <<'PY'
import base64, json, sys, time
n, mode = int(sys.argv[1]), sys.argv[2]
body = base64.b64encode(b"x" * 1024).decode()
print(json.dumps({
    "topic": f"BenchIndep_{mode}_{int(time.time())}", "producer_group": "bench_indep",
    "consumer_group": "bench_indep_c",
    "messages": [{"id": f"m{i}", "mode": mode, "tags": "T", "keys": [], "props": {},
                  "body_b64": body, "batch": None} for i in range(n)],
}))
PY
  "$HARNESS" "$tmp/spec-$mode.json" "$tmp/res-$mode.json" --no-consume > "$tmp/out-$mode.txt" 2>&1
  python3 - "$tmp/res-$mode.json" "$mode" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ok = sum(1 for x in r["results"] if x.get("ok"))
print(f"rocketmq-client-rust {sys.argv[2]}: {ok}/{len(r['results'])} ok, {len(r['results'])/r['elapsed_s']:.0f} msg/s ({r['elapsed_s']:.2f} s)")
PY
  extra=""
  [ "$mode" = async ] && extra="--mode async --concurrency 64"
  echo -n "rmqdump produce $mode: "
  target/release/rmqdump produce --topic "BenchRmqdump_${mode}_$RANDOM" --count "$N" --size 1024 --tags T $extra | tail -n 1
done
rm -rf "$tmp"
