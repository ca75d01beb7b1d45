#!/usr/bin/env bash
# Producer throughput on the local servers (scripts/peers.sh start), compared in one run with
# an independent producer: the rocketmq-client-rust 1.0.0 capture harness from
# ../shared/peers/rust-producer (built once into $RMQDUMP_PEERS/rustpeer).
# Then the same against the reference servers (scripts/java-peers.sh start 5.3.3): the Java
# producer of record (DefaultMQProducer 5.3.3, peers/java) and `rmqdump produce`, sync and async,
# the same messages (1 KiB, the same body text).
#   scripts/bench-producer.sh [COUNT] [--java-only]   (default 2000 messages of 1 KiB per mode)
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-2000}"
JAVA_ONLY=0
[ "${2:-}" = --java-only ] && JAVA_ONLY=1

java_bench() {
  local ns br tmp
  read -r ns br < <(bash scripts/java-peers.sh ports 5.3.3)
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$ns") 2>/dev/null; then
    echo "Java servers not running (scripts/java-peers.sh start 5.3.3): Java comparison skipped"
    return 0
  fi
  bash scripts/java-peers.sh harness 5.3.3 >/dev/null
  tmp="$(mktemp -d)"
  for mode in sync async; do
    echo -n "Java DefaultMQProducer 5.3.3 $mode (Java broker 5.3.3): "
    bash scripts/java-peers.sh client 5.3.3 produce "127.0.0.1:$ns" "BenchJava_${mode}_$RANDOM" "$N" 1024 "$mode" \
      "$tmp/java-$mode.json" bench_java 2>/dev/null | tail -n 1
    python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(f'  {r[\"count\"]/r[\"elapsed_s\"]:.0f} msg/s')" "$tmp/java-$mode.json"
    extra=""
    [ "$mode" = async ] && extra="--mode async --concurrency 64"
    echo -n "rmqdump produce $mode (Java broker 5.3.3): "
    target/release/rmqdump produce --namesrv "127.0.0.1:$ns" --topic "BenchRmqdumpJ_${mode}_$RANDOM" --count "$N" --size 1024 \
      --tags T --timeout-ms 10000 $extra | tail -n 1
  done
  rm -rf "$tmp"
}

if [ "$JAVA_ONLY" = 1 ]; then
  cargo build --release -q
  java_bench
  exit 0
fi
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
java_bench
