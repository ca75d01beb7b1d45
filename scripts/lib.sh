# Shell helpers shared by scripts/peers.sh, scripts/java-peers.sh and scripts/go-peers.sh
# (sourced, not run). Uses $RUN (the caller's state directory) for the PID files.

# The repository root.
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

wait_port() {  # wait_port PORT SECONDS: until 127.0.0.1:PORT accepts a connection
  local n=$(( $2 * 4 ))
  for _ in $(seq 1 "$n"); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.25
  done
  return 1
}

alive() {  # alive NAME: the process whose PID is in $RUN/NAME.pid runs
  local f="$RUN/$1.pid"
  [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}

stop_pid() {  # stop_pid NAME: SIGTERM the process of $RUN/NAME.pid, SIGKILL after 20 s
  local f="$RUN/$1.pid" pid
  [ -f "$f" ] || return 0
  pid="$(cat "$f")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 80); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    echo "$1 stopped (pid $pid)"
  fi
  rm -f "$f"
}
