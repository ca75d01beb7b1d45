#!/usr/bin/env bash
# What `rmqdump proxy` adds: the same producer run directly and through the proxy against
# the local servers (scripts/peers.sh start), sync latency p50/p99 and async throughput.
#   scripts/bench-proxy.sh [COUNT]    (default 2000 messages of 1 KiB)
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-2000}"
cargo build --release -q
bin=target/release/rmqdump
"$bin" proxy --listen 127.0.0.1:19877 > /dev/null 2> /tmp/rmqdump-bench-proxy.err &
proxy=$!
trap 'kill $proxy 2>/dev/null || true' EXIT
sleep 0.5
for mode in sync async; do
  extra=""
  [ "$mode" = async ] && extra="--mode async --concurrency 64"
  echo -n "direct  $mode: "; "$bin" produce --namesrv 127.0.0.1:9876 --topic "BenchDirect_$RANDOM" --count "$N" --size 1024 $extra | tail -n 1
  echo -n "proxied $mode: "; "$bin" produce --namesrv 127.0.0.1:19877 --topic "BenchProxy_$RANDOM" --count "$N" --size 1024 $extra | tail -n 1
done
