#!/usr/bin/env bash
# The Go client of record (github.com/apache/rocketmq-client-go/v2, version pinned in
# peers/go/go.mod) as a capture harness: peers/go builds rmqdump-go-peer.
#
#   scripts/go-peers.sh install   build peers/go once into $RMQDUMP_PEERS/go (default
#                                 /opt/rmqdump-peers/go); rebuilt when peers/go changes
#   scripts/go-peers.sh bin       print the path of the built harness
#   scripts/go-peers.sh record NAME NAMESRV BROKER SERVERS_JSON [TOPIC]
#                                 record one `rmqdump-go-peer run` with tcpdump on lo into
#                                 captures/go/NAME.pcap and write captures/go/NAME.manifest.json
#                                 (SERVERS_JSON: the manifest's "servers" object; needs root,
#                                 tcpdump, tshark and ../shared/peers/check_capture.py).
#                                 RMQDUMP_GO_SHIM=1: the servers sit behind
#                                 ../shared/peers/compat_shim.py (start-peers.sh --shim: servers
#                                 on 127.0.0.2); only the client leg is recorded.
#                                 Arguments after TOPIC go to `rmqdump-go-peer run`
#   scripts/go-peers.sh e2e       install, then `cargo test --test e2e_go -- --ignored` against
#                                 RMQDUMP_GO_NAMESRV/RMQDUMP_GO_BROKER if set, else against an
#                                 Apache RocketMQ 5.3.3 pair it starts (and stops) with
#                                 scripts/java-peers.sh on 127.0.0.1:39876/40911 (the Go client
#                                 cannot talk to the rocketmq-rust servers directly: they close
#                                 the connection on its headers, see docs/peers.md)
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT="${RMQDUMP_PEERS:-/opt/rmqdump-peers}"
OUT="$ROOT/go"
BIN="$OUT/rmqdump-go-peer"

src_hash() {
  (cd "$HERE/peers/go" && cat go.mod go.sum ./*.go | sha256sum | cut -d' ' -f1)
}

install() {
  local h
  h="$(src_hash)"
  if [ -x "$BIN" ] && [ "$(cat "$OUT/source.sha256" 2>/dev/null)" = "$h" ]; then
    echo "Go harness already built: $BIN"
    return 0
  fi
  mkdir -p "$OUT"
  echo "building peers/go (rocketmq-client-go) into $OUT..."
  (cd "$HERE/peers/go" && go build -trimpath -o "$BIN.tmp" .)
  mv "$BIN.tmp" "$BIN"
  echo "$h" > "$OUT/source.sha256"
  "$BIN" version
}

record() {
  local name="$1" ns="$2" broker="$3" servers="$4" topic="${5:-CapDev_go_topic}"
  shift 5 || shift $#
  local nsport="${ns##*:}" brport="${broker##*:}"
  local filter="tcp port $nsport or tcp portrange $((brport - 2))-$((brport + 1))"
  local topology=direct
  if [ "${RMQDUMP_GO_SHIM:-0}" = 1 ]; then
    filter="($filter) and not host 127.0.0.2"
    topology=shim
  fi
  local dir="$HERE/captures/go" work
  work="$(mktemp -d /tmp/rmqdump-go-record.XXXXXX)"
  mkdir -p "$dir"
  install >/dev/null
  tcpdump -i lo -s 0 -U -w "$dir/$name.pcap" "$filter" > "$work/tcpdump.log" 2>&1 &
  local td=$!
  sleep 1
  local started rc=0
  started="$(date -u +%Y-%m-%dT%H:%M:%S+00:00)"
  "$BIN" run -namesrv "$ns" -broker "$broker" -topic "$topic" -out "$work/results.json" "$@" || rc=$?
  sleep 1
  kill -INT "$td"
  wait "$td" || true
  [ "$rc" = 0 ] || { echo "harness failed ($rc); work files in $work" >&2; exit 1; }
  python3 - "$work/results.json" "$dir/$name.pcap" "$dir/$name.manifest.json" "$filter" "$servers" "$started" "$topology" <<'PY'
import hashlib, json, os, sys
res, cap, out, filt, servers, started, topology = sys.argv[1:]
TOPOLOGY = {
    "direct": {"mode": "direct", "description": "the Go client connects straight to the NameServer and Broker on 127.0.0.1; the capture also holds the broker's own NameServer traffic (register/heartbeat) that fell in the window."},
    "shim": {"mode": "shim", "description": "the Go client talks to shared/peers/compat_shim.py on 127.0.0.1:{9876,10909,10911}, which adds serializeTypeCurrentRPC to its JSON headers (rocketmq-rust 1.0.0 closes the connection without it) and forwards to the rocketmq-rust NameServer/Broker on 127.0.0.2; only the client leg is recorded: every byte is what the Go client or the server wrote."},
}
r = json.load(open(res))
data = open(cap, "rb").read()
m = {"format": r.pop("format"), "capture": os.path.basename(cap),
     "capture_sha256": hashlib.sha256(data).hexdigest(), "capture_bytes": len(data),
     "pcapng_copy": None, "capture_filter": filt,
     "topology": TOPOLOGY[topology],
     "capture_interface": "lo (Linux loopback, DLT_EN10MB)", "set": "dev", "recorded_at_utc": started}
m.update(r)
m["servers"] = json.loads(servers)
json.dump(m, open(out, "w"), indent=1, ensure_ascii=False)
open(out, "a").write("\n")
PY
  python3 "$HERE/../shared/peers/check_capture.py" "$dir/$name.pcap" "$dir/$name.manifest.json" --write > "$work/check.log"
  echo "wrote $dir/$name.pcap ($(stat -c %s "$dir/$name.pcap") bytes) and $name.manifest.json; work files in $work"
}

e2e() {
  install
  cd "$HERE"
  if [ -z "${RMQDUMP_GO_NAMESRV:-}" ]; then
    local jp="$HERE/scripts/java-peers.sh"
    if [ ! -f "$jp" ]; then
      echo "go e2e SKIPPED: no scripts/java-peers.sh and no RMQDUMP_GO_NAMESRV/RMQDUMP_GO_BROKER"
      return 0
    fi
    export RMQDUMP_JAVA_NAMESRV_PORT=39876 RMQDUMP_JAVA_BROKER_PORT=40911 RMQDUMP_JAVA_RUN=/tmp/rmqdump-java-go
    export RMQDUMP_GO_NAMESRV=127.0.0.1:39876 RMQDUMP_GO_BROKER=127.0.0.1:40911
    bash "$jp" install 5.3.3
    bash "$jp" stop 5.3.3 >/dev/null 2>&1 || true
    bash "$jp" start 5.3.3
    trap 'bash "$HERE/scripts/java-peers.sh" stop 5.3.3' EXIT
  fi
  cargo test --test e2e_go -- --ignored
}

case "${1:-}" in
  install) install ;;
  e2e) e2e ;;
  bin) echo "$BIN" ;;
  record) shift; record "$@" ;;
  *) echo "usage: $0 install|bin|e2e|record NAME NAMESRV BROKER SERVERS_JSON [TOPIC]" >&2; exit 2 ;;
esac
