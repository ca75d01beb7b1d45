#!/usr/bin/env bash
# Records one run of the Java harness (peers/java) against one running Java broker, with
# tcpdump on lo, into captures/java/NAME.pcap with NAME.manifest.json beside it.
#
#   peers/java/record.sh CLIENT_VER BROKER_VER NAME [--no-pop]
#
# The servers of BROKER_VER must be running (scripts/java-peers.sh start BROKER_VER) and the
# harness of CLIENT_VER built (scripts/java-peers.sh harness CLIENT_VER). The manifest's
# capture_check comes from ../shared/peers/check_capture.py (tshark reassembly and a frame
# splitter independent of rmqdump).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -ge 3 ] || { echo "usage: peers/java/record.sh CLIENT_VER BROKER_VER NAME [--no-pop]" >&2; exit 2; }
cver="$1" bver="$2" name="$3" extra="${4:-}"
read -r ns br < <(bash scripts/java-peers.sh ports "$bver")
out="captures/java"
mkdir -p "$out"
cap="$out/$name.pcap" man="$out/$name.manifest.json"
tcpdump -i lo -U -s 0 -w "$cap" "port $ns or port $br" 2>/tmp/rmqdump-java-record.tcpdump &
td=$!
sleep 1.5
rc=0
bash scripts/java-peers.sh client "$cver" "127.0.0.1:$ns" "$man.tmp" "${name//[^A-Za-z0-9]/_}" $extra || rc=$?
sleep 1.5
kill -INT "$td"
wait "$td" || true
python3 - "$cap" "$man" "$cver" "$bver" "$ns" "$br" <<'PY'
import hashlib, json, os, subprocess, sys
cap, man, cver, bver, ns, br = sys.argv[1:]
m = json.load(open(man + ".tmp"))
data = open(cap, "rb").read()
head = {
    "format": m.pop("format"),
    "capture": os.path.basename(cap),
    "capture_sha256": hashlib.sha256(data).hexdigest(),
    "capture_bytes": len(data),
    "capture_filter": f"port {ns} or port {br}",
    "capture_interface": "lo",
    "topology": {"mode": "direct", "description":
        f"the Java client connects straight to the Apache RocketMQ {bver} NameServer "
        f"127.0.0.1:{ns} and Broker 127.0.0.1:{br}; the capture also holds the broker's own "
        "NameServer traffic (REGISTER_BROKER, heartbeats) that fell in the window"},
    "servers": {
        "namesrv": {"implementation": f"Apache RocketMQ NameServer {bver} (Maven Central org.apache.rocketmq:rocketmq-namesrv)", "addr": f"127.0.0.1:{ns}"},
        "broker": {"implementation": f"Apache RocketMQ Broker {bver} (Maven Central org.apache.rocketmq:rocketmq-broker)", "addr": f"127.0.0.1:{br}"},
    },
    "recorder": "peers/java/record.sh (scripts/java-peers.sh client " + cver + ")",
}
head.update(m)
json.dump(head, open(man, "w"), indent=1, ensure_ascii=False)
open(man, "a").write("\n")
PY
rm -f "$man.tmp"
python3 ../shared/peers/check_capture.py "$cap" "$man" --write > /dev/null || echo "check_capture.py found problems (see the manifest)" >&2
ls -l "$cap" "$man"
exit "$rc"
