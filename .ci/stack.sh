#!/usr/bin/env bash
# `make run`: worker, beat, Flower and the API in the foreground; Ctrl-C stops
# everything this script started (including a private Redis, if it made one).
set -uo pipefail
cd "$(dirname "$0")/.."
API_PORT="${API_PORT:-8000}"
FLOWER_PORT="${FLOWER_PORT:-5555}"
BIN=.venv/bin
mkdir -p var/log var/audio

started_redis=0
if [ -n "${REDIS_SENTINELS:-}" ]; then
  .ci/redis.sh ensure  # says so, and starts nothing: the sentinels name the primary
  # A bad sentinel setting stops here, with the message naming the variable.
  "$BIN/python" -c "from tasks.config.settings import get_settings; get_settings()" || exit 1
elif [ ! -f var/redis/redis.pid ]; then
  .ci/redis.sh ensure && [ -f var/redis/redis.pid ] && started_redis=1
else
  .ci/redis.sh ensure
fi

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo; echo "Stopping..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  wait 2>/dev/null
  [ "$started_redis" = 1 ] && .ci/redis.sh stop
  exit 0
}
trap cleanup INT TERM EXIT

flower_auth=()
[ -n "${FLOWER_BASIC_AUTH:-}" ] && flower_auth=(--basic-auth="$FLOWER_BASIC_AUTH")

"$BIN/celery" -A tasks worker -Q music,maintenance -c 1 -n "local@%h" -E --loglevel=INFO &
pids+=($!)
# CPU-only compression of rendered WAVs (FLAC/MP3/Opus), off the generating worker.
"$BIN/celery" -A tasks worker -Q encode -c 1 -n "encode@%h" --loglevel=INFO &
pids+=($!)
# Signed job webhooks for API key clients: CPU, I/O-bound, never the music worker.
"$BIN/celery" -A tasks worker -Q webhooks -c 2 -n "webhooks@%h" --loglevel=INFO &
pids+=($!)
"$BIN/celery" -A tasks beat --schedule var/celerybeat-schedule --loglevel=INFO &
pids+=($!)
"$BIN/celery" -A tasks flower --address=127.0.0.1 --port="$FLOWER_PORT" "${flower_auth[@]}" \
  >var/log/flower.log 2>&1 &
pids+=($!)
"$BIN/gunicorn" "web:create_app()" -c gunicorn.conf.py -b "127.0.0.1:$API_PORT" &
pids+=($!)

echo "API:    http://127.0.0.1:$API_PORT   (docs: README.md)"
echo "Flower: http://127.0.0.1:$FLOWER_PORT"
wait -n
echo "A process exited; stopping the stack." >&2
cleanup
