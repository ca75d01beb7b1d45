#!/usr/bin/env bash
# The real RocketMQ servers the end-to-end tests use: the rocketmq-rust NameServer and Broker
# (crates.io rocketmq-namesrv / rocketmq-broker 1.0.0), on 127.0.0.1 only.
#
#   scripts/peers.sh install   build them once into $RMQDUMP_PEERS (default /opt/rmqdump-peers;
#                              about 25-30 minutes on 2 cores the first time, then reused)
#   scripts/peers.sh start     NameServer 127.0.0.1:9876, Broker 127.0.0.1:10911 (VIP 10909,
#                              HA 10912), topics auto-created; state under $RMQDUMP_PEERS_RUN
#                              (default /tmp/rmqdump-peers), wiped at each start
#   scripts/peers.sh stop      stops them by the PIDs start recorded
#   scripts/peers.sh status
#   scripts/peers.sh install-clients   build the independent rocketmq-client-rust client (the
#                              capture harness in ../shared/peers/rust-producer) into
#                              $RMQDUMP_PEERS/rustpeer (about 10-15 minutes the first time)
set -euo pipefail
ROOT="${RMQDUMP_PEERS:-/opt/rmqdump-peers}"
RUN="${RMQDUMP_PEERS_RUN:-/tmp/rmqdump-peers}"
NAMESRV="$ROOT/bin/rocketmq-namesrv-rust"
BROKER="$ROOT/bin/rocketmq-broker-rust"
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install() {
  if [ -x "$NAMESRV" ] && [ -x "$BROKER" ]; then
    echo "peers already installed in $ROOT"
    return 0
  fi
  mkdir -p "$ROOT"
  echo "building rocketmq-namesrv and rocketmq-broker into $ROOT (about 25-30 minutes the first time)..."
  cargo install --locked --root "$ROOT" rocketmq-namesrv@1.0.0 rocketmq-broker@1.0.0
}

start() {
  [ -x "$NAMESRV" ] && [ -x "$BROKER" ] || { echo "peers not installed: run scripts/peers.sh install" >&2; exit 1; }
  if alive namesrv || alive broker; then
    echo "peers already running (scripts/peers.sh stop first)" >&2
    exit 1
  fi
  rm -rf "$RUN"
  mkdir -p "$RUN/home/conf" "$RUN/namesrv" "$RUN/broker/store"
  cat > "$RUN/namesrv.toml" <<EOF
rocketmqHome = "$RUN/home"
kvConfigPath = "$RUN/namesrv/kvConfig.json"
configStorePath = "$RUN/namesrv/rocketmq-namesrv.properties"

[runtime]
workerThreads = 2
EOF
  cat > "$RUN/broker.toml" <<EOF
[broker]
namesrvAddr = "127.0.0.1:9876"
brokerIp1 = "127.0.0.1"
listenPort = 10911
storePathRootDir = "$RUN/broker"
autoCreateTopicEnable = true

[broker.brokerServerConfig]
bindAddress = "127.0.0.1"

[broker.brokerIdentity]
brokerName = "broker-a"
brokerClusterName = "DefaultCluster"
brokerId = 0

[store]
storeType = "LocalFile"
brokerRole = "ASYNC_MASTER"
storePathRootDir = "$RUN/broker/store"
haListenAddress = "127.0.0.1"
haListenPort = 10912
EOF
  export ROCKETMQ_HOME="$RUN/home"
  export ROCKETMQ_SECURITY_PROFILE=development-insecure-loopback
  unset NAMESRV_ADDR
  setsid "$NAMESRV" -c "$RUN/namesrv.toml" --rocketmqHome "$RUN/home" --bindAddress 127.0.0.1 --listenPort 9876 \
    > "$RUN/namesrv.out" 2>&1 < /dev/null &
  echo $! > "$RUN/namesrv.pid"
  wait_port 9876 30 || { echo "NameServer did not open 127.0.0.1:9876" >&2; tail -20 "$RUN/namesrv.out" >&2; exit 1; }
  setsid "$BROKER" -c "$RUN/broker.toml" -n 127.0.0.1:9876 > "$RUN/broker.out" 2>&1 < /dev/null &
  echo $! > "$RUN/broker.pid"
  wait_port 10911 60 || { echo "Broker did not open 127.0.0.1:10911" >&2; tail -30 "$RUN/broker.out" >&2; exit 1; }
  # Ready when the NameServer routes TBW102 (the broker registered: topics can be
  # auto-created).
  for _ in $(seq 1 60); do
    if python3 - <<'PY' 2>/dev/null
import json, socket, struct, sys
h = json.dumps({"code": 105, "extFields": {"topic": "TBW102"}, "flag": 0, "language": "JAVA",
                "opaque": 1, "serializeTypeCurrentRPC": "JSON", "version": 401},
               separators=(",", ":")).encode()
s = socket.create_connection(("127.0.0.1", 9876), timeout=2)
s.sendall(struct.pack(">II", 4 + len(h), len(h)) + h)
n = struct.unpack(">I", s.recv(4))[0]
data = b""
while len(data) < n:
    data += s.recv(n - len(data))
hl = struct.unpack(">I", data[:4])[0] & 0xFFFFFF
sys.exit(0 if json.loads(data[4:4 + hl])["code"] == 0 else 1)
PY
    then
      break
    fi
    sleep 0.5
  done
  echo "NameServer 127.0.0.1:9876 (pid $(cat "$RUN/namesrv.pid")), Broker 127.0.0.1:10911 (pid $(cat "$RUN/broker.pid")); logs in $RUN"
}

install_clients() {
  local bin="$ROOT/rustpeer/release/rmq-capture-producer"
  if [ -x "$bin" ]; then
    echo "rocketmq-client-rust harness already built: $bin"
    return 0
  fi
  local src
  src="$(cd "$HERE/.." && pwd)/shared/peers/rust-producer"
  [ -d "$src" ] || { echo "missing $src (shared/ beside the project)" >&2; exit 1; }
  echo "building the rocketmq-client-rust harness from $src (about 10-15 minutes the first time)..."
  (cd "$src" && CARGO_TARGET_DIR="$ROOT/rustpeer" cargo build --release --locked)
}

case "${1:-}" in
  install) install ;;
  install-clients) install_clients ;;
  start) start ;;
  stop) stop_pid broker; stop_pid namesrv ;;
  status)
    for n in namesrv broker; do
      if alive "$n"; then echo "$n running (pid $(cat "$RUN/$n.pid"))"; else echo "$n not running"; fi
    done ;;
  *) echo "usage: scripts/peers.sh install|install-clients|start|stop|status" >&2; exit 2 ;;
esac
