# Quick start: `make run` (the service on http://127.0.0.1:8000) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export REDIS_URL ?= redis://127.0.0.1:6379/0
export API_PORT ?= 8000
export FLOWER_PORT ?= 5555
GPU ?= 0

.PHONY: run test install install-dev lint worker gpu-smoke gpu-bench model bench drills compose-drill failover-drill clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-run: requirements.txt requirements-api.txt requirements-encode.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-api.txt requirements-encode.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $(VENV)/.installed-run $@

install: $(VENV)/.installed-run
install-dev: $(VENV)/.installed-dev

run: install
	@.ci/stack.sh

# One worker process per GPU: `make worker GPU=0`, `make worker GPU=1`, ...
worker: install
	CUDA_VISIBLE_DEVICES=$(GPU) $(BIN)/celery -A tasks worker -Q music -c 1 -n gpu$(GPU)@%h -E --loglevel=INFO

gpu-smoke: install
	$(BIN)/python -m inference.acestep.smoke $(DURATION)

# Real-size random-weight ACE-Step through the engine: speed, VRAM, batching, OOM
# (on CUDA; without it, the tiny pipeline). SIZES="turbo xl-turbo" to choose.
gpu-bench: install
	$(BIN)/python -m bench.gpu $(if $(SIZES),--sizes $(SIZES))

# Download the diffusers-format ACE-Step turbo pipeline into models/ and verify it.
model: install
	$(BIN)/python -m inference.acestep.prepare $(if $(REPO),--repo $(REPO))

test: install-dev
	@.ci/redis.sh ensure
	@# Browser tests drive Debian's Chromium (never `playwright install`); they skip without it.
	@command -v chromium >/dev/null || ! command -v apt-get >/dev/null || \
	  { if [ "$$(id -u)" = 0 ]; then S=; else S="sudo -n"; fi; \
	    $$S apt-get update -qq && $$S env DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq chromium >/dev/null; } || \
	  echo "Chromium could not be installed: browser tests will be skipped" >&2
	@# Failover tests run a real primary + replica + sentinel: Debian's redis-server and
	@# redis-sentinel (the packages the deployment uses); they skip without them.
	@{ command -v redis-server >/dev/null && command -v redis-sentinel >/dev/null; } || \
	  ! command -v apt-get >/dev/null || \
	  { if [ "$$(id -u)" = 0 ]; then S=; else S="sudo -n"; fi; \
	    $$S apt-get update -qq && $$S env DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq redis-server redis-sentinel >/dev/null; } || \
	  echo "redis-sentinel could not be installed: failover tests will be skipped" >&2
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -m "not drill" $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .

bench: install-dev
	@.ci/redis.sh ensure
	@# The HTTP benches drive wrk (Debian's); without it they fall back to Python clients.
	@command -v wrk >/dev/null || ! command -v apt-get >/dev/null || \
	  { if [ "$$(id -u)" = 0 ]; then S=; else S="sudo -n"; fi; \
	    $$S apt-get update -qq && $$S env DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq wrk >/dev/null; } || \
	  echo "wrk could not be installed: HTTP benches use Python clients" >&2
	$(BIN)/python -m bench

drills: install-dev
	@.ci/redis.sh ensure
	$(BIN)/python -m pytest -m drill $(PYTEST_ARGS)

# The compose deployment built and driven end to end (root, dockerd, minutes; not in `test`).
# COLD=1 starts without any image of earlier runs; COMPOSE=v1|v2|both (default both).
compose-drill: install-dev
	@COLD=$(COLD) DRILL_COMPOSE=$(COMPOSE) .ci/compose-drill/drill.sh

# The service on Redis Sentinel (1 primary, 2 replicas, 3 sentinels on loopback), 2 API
# processes, 3 workers and beat under load, through a SIGKILL and a SIGSTOP of the
# primary (minutes; not in `test`). Installs Debian's redis-server/redis-sentinel if missing.
failover-drill: install-dev
	@command -v redis-sentinel >/dev/null || \
	  { if [ "$$(id -u)" = 0 ]; then S=; else S="sudo -n"; fi; \
	    $$S apt-get update -qq && $$S env DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq redis-server redis-sentinel >/dev/null; }
	$(BIN)/python .ci/failover-drill/drill.py

clean:
	rm -rf var .pytest_cache
