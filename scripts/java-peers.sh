#!/usr/bin/env bash
# The reference servers of record: Apache RocketMQ's Java NameServer and Broker, fetched from
# Maven Central (org.apache.rocketmq:rocketmq-namesrv / rocketmq-broker), on 127.0.0.1 only.
#
#   scripts/java-peers.sh install [VER|all]  resolve the jars once into $RMQDUMP_JAVA/VER/lib
#                              (default /opt/rmqdump-java; about 1-3 minutes per version the
#                              first time, then reused; needs java 17 and mvn)
#   scripts/java-peers.sh start [VER|all]    NameServer and Broker of VER on 127.0.0.1; state
#                              (store, logs, pids) under /tmp/rmqdump-java-VER, wiped at start
#   scripts/java-peers.sh stop [VER|all]     stops them by the PIDs start recorded
#   scripts/java-peers.sh status [VER|all]
#   scripts/java-peers.sh ports VER          prints "NAMESRV_PORT BROKER_PORT" of VER
#   scripts/java-peers.sh harness [VER|all]  builds the Java client harness peers/java against
#                              rocketmq-client VER into $RMQDUMP_JAVA/harness/VER (about 1 minute
#                              the first time; rebuilt only when peers/java changes)
#   scripts/java-peers.sh client VER ARGS... runs the harness built against VER (rmqdump.peer.Main)
#
# VER is 5.3.3 (the newest 5.3.x on Maven Central whose artifacts all resolve) or 4.9.7 (the
# newest 4.9.x: 4.9.8 has no rocketmq-broker jar there). "all" (the default) is both.
# Default ports: 5.3.3 NameServer 19876, Broker 20911 (fast/VIP 20909, HA 20912);
#                4.9.7 NameServer 29876, Broker 30911 (fast/VIP 30909, HA 30912).
# For one VER, RMQDUMP_JAVA_NAMESRV_PORT, RMQDUMP_JAVA_BROKER_PORT and RMQDUMP_JAVA_RUN (state
# directory) override the defaults, so that a second instance can run beside the first.
set -euo pipefail
ROOT="${RMQDUMP_JAVA:-/opt/rmqdump-java}"
VERSIONS=(5.3.3 4.9.7)
JAVA="${RMQDUMP_JAVA_BIN:-java}"
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

default_ports() {  # default_ports VER -> "NAMESRV BROKER"
  case "$1" in
    5.*) echo "19876 20911" ;;
    4.*) echo "29876 30911" ;;
    *) echo "unknown version $1 (known: ${VERSIONS[*]})" >&2; exit 2 ;;
  esac
}

# Sets NS_PORT, BR_PORT, RUN, LIB for VER (env overrides only when one version is named).
select_version() {  # select_version VER SINGLE(0|1)
  local d
  d="$(default_ports "$1")"
  NS_PORT="${d% *}"
  BR_PORT="${d#* }"
  RUN="/tmp/rmqdump-java-$1"
  if [ "$2" = 1 ]; then
    NS_PORT="${RMQDUMP_JAVA_NAMESRV_PORT:-$NS_PORT}"
    BR_PORT="${RMQDUMP_JAVA_BROKER_PORT:-$BR_PORT}"
    RUN="${RMQDUMP_JAVA_RUN:-$RUN}"
  fi
  LIB="$ROOT/$1/lib"
}

need_java() {  # java 17 and mvn come with the project's machines; Debian's packages otherwise
  if ! command -v mvn >/dev/null || ! command -v "$JAVA" >/dev/null; then
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    echo "installing openjdk-17-jdk-headless and maven (Debian packages)..."
    DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq openjdk-17-jdk-headless maven >/dev/null
  fi
}

install_one() {  # install_one VER
  local ver="$1" dir="$ROOT/$1"
  if [ -f "$dir/lib/.complete" ]; then
    echo "RocketMQ $ver already installed in $dir"
    return 0
  fi
  need_java
  mkdir -p "$dir"
  rm -rf "$dir/lib"
  cat > "$dir/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>rmqdump</groupId>
  <artifactId>rocketmq-servers</artifactId>
  <version>$ver</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.rocketmq</groupId><artifactId>rocketmq-namesrv</artifactId><version>$ver</version></dependency>
    <dependency><groupId>org.apache.rocketmq</groupId><artifactId>rocketmq-broker</artifactId><version>$ver</version></dependency>
  </dependencies>
</project>
EOF
  echo "resolving RocketMQ $ver NameServer and Broker from Maven Central into $dir/lib..."
  mvn -B -q -f "$dir/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$dir/lib"
  touch "$dir/lib/.complete"
}

# JVM flags both versions need on Java 17: RocketMQ unmaps its MappedFiles through the
# JDK-internal Cleaner (store/.../MappedFile.clean / UtilAll.cleanBuffer), reflective access
# to java.nio and sun.nio.ch.
jvm_flags() {  # jvm_flags HEAP NAME
  echo "-Xms$1 -Xmx$1 -XX:MaxDirectMemorySize=128m -XX:+UseSerialGC -Xss512k
    --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
    --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED
    --add-opens=java.base/jdk.internal.misc=ALL-UNNAMED --add-exports=java.base/sun.nio.ch=ALL-UNNAMED
    -Duser.home=$RUN -Drocketmq.home.dir=$RUN/home -Drocketmq.client.logRoot=$RUN/logs
    -Drocketmq.broker.diskSpaceWarningLevelRatio=0.98 -Drocketmq.broker.diskSpaceCleanForciblyRatio=0.97
    -Drmq.logback.configurationFile=$RUN/home/conf/rmq.$2.logback.xml"
}

write_logback() {  # 4.9.x reads ROCKETMQ_HOME/conf/logback_{namesrv,broker}.xml (NamesrvStartup, BrokerStartup)
  local n
  for n in namesrv broker; do
    cat > "$RUN/home/conf/logback_$n.xml" <<EOF
<configuration>
  <appender name="F" class="ch.qos.logback.core.FileAppender">
    <file>$RUN/logs/$n.log</file>
    <encoder><pattern>%d{HH:mm:ss.SSS} %-5level %logger{20} - %msg%n</pattern></encoder>
  </appender>
  <root level="WARN"><appender-ref ref="F"/></root>
  <logger name="RocketmqNamesrv" level="INFO"/>
  <logger name="RocketmqBroker" level="INFO"/>
</configuration>
EOF
  done
}

start_one() {  # start_one VER
  local ver="$1" cp flags
  [ -f "$LIB/.complete" ] || { echo "RocketMQ $ver not installed: run scripts/java-peers.sh install $ver" >&2; exit 1; }
  if alive namesrv || alive broker; then
    echo "RocketMQ $ver already running in $RUN (scripts/java-peers.sh stop $ver first)" >&2
    exit 1
  fi
  rm -rf "$RUN"
  mkdir -p "$RUN/home/conf" "$RUN/store" "$RUN/logs"
  write_logback
  cat > "$RUN/namesrv.conf" <<EOF
listenPort=$NS_PORT
bindAddress=127.0.0.1
rocketmqHome=$RUN/home
kvConfigPath=$RUN/namesrv/kvConfig.json
configStorePath=$RUN/namesrv/namesrv.properties
EOF
  # Small store files (MessageStoreConfig; the 5.x timer wheel stays on: POP needs it,
  # PopMessageProcessor), no disk-ratio refusal on a shared disk
  # (diskMaxUsedSpaceRatio; the two system properties above are the store's hard limits),
  # topics and groups auto-created, every port on 127.0.0.1.
  cat > "$RUN/broker.conf" <<EOF
brokerClusterName=DefaultCluster
brokerName=broker-a
brokerId=0
brokerRole=ASYNC_MASTER
flushDiskType=ASYNC_FLUSH
namesrvAddr=127.0.0.1:$NS_PORT
brokerIP1=127.0.0.1
bindAddress=127.0.0.1
listenPort=$BR_PORT
haListenPort=$(( BR_PORT + 1 ))
rocketmqHome=$RUN/home
storePathRootDir=$RUN/store
storePathCommitLog=$RUN/store/commitlog
mappedFileSizeCommitLog=8388608
mappedFileSizeConsumeQueue=60000
mappedFileSizeConsumeQueueExt=1048576
mappedFileSizeTimerLog=4194304
timerMaxDelaySec=86400
maxHashSlotNum=10000
maxIndexNum=40000
diskMaxUsedSpaceRatio=95
autoCreateTopicEnable=true
autoCreateSubscriptionGroup=true
traceTopicEnable=false
transactionCheckInterval=3000
transactionTimeOut=6000
sendMessageThreadPoolNums=2
pullMessageThreadPoolNums=4
EOF
  export ROCKETMQ_HOME="$RUN/home"
  unset NAMESRV_ADDR
  cp="$LIB/*"
  # shellcheck disable=SC2046
  setsid "$JAVA" $(jvm_flags 128m namesrv) -cp "$cp" org.apache.rocketmq.namesrv.NamesrvStartup \
    -c "$RUN/namesrv.conf" > "$RUN/namesrv.out" 2>&1 < /dev/null &
  echo $! > "$RUN/namesrv.pid"
  wait_port "$NS_PORT" 45 || { echo "NameServer $ver did not open 127.0.0.1:$NS_PORT" >&2; tail -30 "$RUN/namesrv.out" >&2; exit 1; }
  # shellcheck disable=SC2046
  setsid "$JAVA" $(jvm_flags 256m broker) -cp "$cp" org.apache.rocketmq.broker.BrokerStartup \
    -c "$RUN/broker.conf" -n "127.0.0.1:$NS_PORT" > "$RUN/broker.out" 2>&1 < /dev/null &
  echo $! > "$RUN/broker.pid"
  wait_port "$BR_PORT" 60 || { echo "Broker $ver did not open 127.0.0.1:$BR_PORT" >&2; tail -30 "$RUN/broker.out" >&2; exit 1; }
  # Ready when the NameServer routes TBW102 (the broker registered: topics can be auto-created).
  local ok=0
  for _ in $(seq 1 90); do
    if python3 - "$NS_PORT" <<'PY' 2>/dev/null
import json, socket, struct, sys
h = json.dumps({"code": 105, "extFields": {"topic": "TBW102"}, "flag": 0, "language": "JAVA",
                "opaque": 1, "serializeTypeCurrentRPC": "JSON", "version": 401},
               separators=(",", ":")).encode()
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
s.sendall(struct.pack(">II", 4 + len(h), len(h)) + h)
n = struct.unpack(">I", s.recv(4))[0]
data = b""
while len(data) < n:
    data += s.recv(n - len(data))
hl = struct.unpack(">I", data[:4])[0] & 0xFFFFFF
sys.exit(0 if json.loads(data[4:4 + hl])["code"] == 0 else 1)
PY
    then
      ok=1
      break
    fi
    sleep 0.5
  done
  [ "$ok" = 1 ] || { echo "Broker $ver did not register with the NameServer" >&2; tail -30 "$RUN/broker.out" >&2; exit 1; }
  echo "RocketMQ $ver: NameServer 127.0.0.1:$NS_PORT (pid $(cat "$RUN/namesrv.pid")), Broker 127.0.0.1:$BR_PORT (pid $(cat "$RUN/broker.pid")); state in $RUN"
}

harness_one() {  # harness_one VER: build peers/java against rocketmq-client VER, cached by source hash
  local ver="$1" out="$ROOT/harness/$1" sum profile=()
  sum="$(cd "$HERE/peers/java" && find pom.xml src -type f | sort | xargs sha256sum | sha256sum | cut -d' ' -f1)"
  if [ -f "$out/rmqdump-java-peer.jar" ] && [ "$(cat "$out/.src-sha256" 2>/dev/null)" = "$sum" ]; then
    echo "Java harness for $ver up to date in $out"
    return 0
  fi
  need_java
  case "$ver" in 4.*) profile=(-Prmq49) ;; esac
  echo "building the Java harness against rocketmq-client $ver into $out..."
  rm -rf "$out"
  mvn -B -q -f "$HERE/peers/java/pom.xml" "${profile[@]}" package -Dharness.dir="$out"
  echo "$sum" > "$out/.src-sha256"
}

client_run() {  # client_run VER ARGS...: run rmqdump.peer.Main of the harness built against VER
  local out="$ROOT/harness/$1"
  shift
  [ -f "$out/rmqdump-java-peer.jar" ] || { echo "harness not built: scripts/java-peers.sh harness" >&2; exit 1; }
  mkdir -p "$out/home"
  "$JAVA" -Xmx256m -Duser.home="$out/home" -cp "$out/rmqdump-java-peer.jar:$out/lib/*" rmqdump.peer.Main "$@"
}

cmd="${1:-}"
sel="${2:-all}"
if [ "$cmd" = client ]; then
  shift 2
  client_run "$sel" "$@"
  exit $?
fi
if [ "$sel" = all ]; then
  vers=("${VERSIONS[@]}")
  single=0
else
  default_ports "$sel" >/dev/null
  vers=("$sel")
  single=1
fi
for v in "${vers[@]}"; do
  select_version "$v" "$single"
  case "$cmd" in
    install) install_one "$v" ;;
    start) start_one "$v" ;;
    stop) stop_pid broker; stop_pid namesrv ;;
    status)
      for n in namesrv broker; do
        if alive "$n"; then echo "$v $n running (pid $(cat "$RUN/$n.pid"))"; else echo "$v $n not running"; fi
      done ;;
    ports) echo "$NS_PORT $BR_PORT" ;;
    harness) harness_one "$v" ;;
    *) echo "usage: scripts/java-peers.sh install|start|stop|status|ports|harness [${VERSIONS[*]}|all]" >&2; exit 2 ;;
  esac
done
