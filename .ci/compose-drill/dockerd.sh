#!/usr/bin/env bash
# The drill's private Docker daemon, and the host as it was before it.
#   dockerd.sh start DATA_ROOT LOG   -> dockerd on $DOCKER_HOST (a unix socket)
#   dockerd.sh stop                  -> stops it; undoes what it did to the host
# dockerd leaves its bridge, its iptables chains and rules, a FORWARD policy of
# DROP, ip_forward=1, a mount of its data root and (after host-networking
# containers) one of the host's network namespace under its exec root behind; `stop` removes them when `start` found none,
# so nothing of another daemon (or another user of the host) is touched.
set -euo pipefail
SOCK=${DOCKER_HOST#unix://}
RUN=$(dirname "$SOCK")
SAVED=$RUN/host-before

stop_daemon() {
  local pid
  pid=$(cat "$RUN/docker.pid" 2>/dev/null) || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  fi
  rm -f "$RUN/docker.pid"
}

unmount_exec_root() {
  # Host-networking containers leave the host's netns bound under the exec root.
  local target
  for target in $(findmnt -rno TARGET | grep "^$RUN/" | sort -r || true); do
    umount "$target"
  done
}

restore_host() {
  [ -f "$SAVED" ] || return 0
  # shellcheck source=/dev/null
  . "$SAVED"
  if [ "$MADE_BRIDGE" = 1 ] && ip link show docker0 >/dev/null 2>&1; then
    ip link delete docker0
  fi
  if [ "$MADE_CHAINS" = 1 ]; then
    for table in filter nat; do
      iptables -t "$table" -S | grep -E -- '^-A (INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING) .*(-j DOCKER|docker0)' |
        while read -r rule; do
          # shellcheck disable=SC2086
          iptables -t "$table" -D ${rule#-A } || true
        done
      for chain in $(iptables -t "$table" -S | awk '$1 == "-N" && $2 ~ /^DOCKER/ {print $2}'); do
        iptables -t "$table" -F "$chain"
      done
      for chain in $(iptables -t "$table" -S | awk '$1 == "-N" && $2 ~ /^DOCKER/ {print $2}'); do
        iptables -t "$table" -X "$chain"
      done
    done
    iptables -P FORWARD "$FORWARD_POLICY"
  fi
  sysctl -qw net.ipv4.ip_forward="$IP_FORWARD"
  # dockerd bind-mounts its data root on itself and leaves the mount behind.
  while mountpoint -q "$DATA_ROOT"; do umount "$DATA_ROOT"; done
  rm -f "$SAVED"
}

case "${1:-}" in
  start)
    stop_daemon  # one an interrupted run left
    unmount_exec_root
    restore_host
    mkdir -p "$RUN"
    if ip link show docker0 >/dev/null 2>&1 || iptables -t filter -S DOCKER >/dev/null 2>&1; then
      echo "another Docker daemon owns docker0 or the DOCKER chains here; stop it first" >&2
      exit 1
    fi
    {
      echo "MADE_BRIDGE=1"
      echo "MADE_CHAINS=1"
      echo "FORWARD_POLICY=$(iptables -S FORWARD | awk '$1 == "-P" {print $3}')"
      echo "IP_FORWARD=$(sysctl -n net.ipv4.ip_forward)"
      echo "DATA_ROOT=$2"
    } >"$SAVED"
    dockerd --host "$DOCKER_HOST" --data-root "$2" --exec-root "$RUN/exec" \
      --pidfile "$RUN/docker.pid" >"$3" 2>&1 &
    for _ in $(seq 60); do /usr/bin/docker info >/dev/null 2>&1 && exit 0; sleep 0.5; done
    tail -20 "$3" >&2
    exit 1 ;;
  stop)
    stop_daemon
    unmount_exec_root
    restore_host ;;
  *) echo "usage: $0 start DATA_ROOT LOG | stop" >&2; exit 2 ;;
esac
