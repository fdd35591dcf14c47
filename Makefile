# Quick start: `make run` (the service on http://127.0.0.1:8000) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export REDIS_URL ?= redis://127.0.0.1:6379/0
export API_PORT ?= 8000
export FLOWER_PORT ?= 5555
GPU ?= 0

.PHONY: run test install install-dev lint worker gpu-smoke gpu-bench model bench acestep-api drills compose-drill failover-drill clean

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

# ACE-Step's own acestep-api, for bench/bench_acestep_api.py only (its own venv, gitignored):
# `make acestep-api ACESTEP_SRC=<checkout of the ace-step/ACE-Step-1.5 repository>`.
# Not PyPI's `ace-step15-fork` (20260210, 20260212): its api_server passes `project_root=`
# to a handler that takes `checkpoint_dir=`, so its acestep-api cannot start.
# On this project's torch: its own pins (torch 2.10 CUDA) are GBs; torchaudio's newest
# wheel is built for torch 2.11, so its compiled extension is removed (torchaudio runs
# without it, a mode it supports; the text-to-music WAV path never calls it).
ACESTEP_VENV := .venv-acestep
acestep-api:
	@test -n "$(ACESTEP_SRC)" || { echo "set ACESTEP_SRC to a checkout of ACE-Step 1.5" >&2; exit 2; }
	python3.11 -m venv $(ACESTEP_VENV)
	$(ACESTEP_VENV)/bin/pip install -q torch==2.13.0
	$(ACESTEP_VENV)/bin/pip install -q --no-deps "$(ACESTEP_SRC)" torchaudio==2.11.1
	$(ACESTEP_VENV)/bin/pip install -q fastapi "uvicorn[standard]" loguru transformers==5.23.0 \
	  diffusers==0.42.1 accelerate soundfile scipy einops diskcache numba matplotlib gradio toml \
	  safetensors "numpy<2.5"
	rm -f $(ACESTEP_VENV)/lib/python3.11/site-packages/torchaudio/lib/*.so

drills: install-dev
	@.ci/redis.sh ensure
	$(BIN)/python -m pytest -m drill $(PYTEST_ARGS)

# The compose deployment built and driven end to end (root, dockerd, minutes; not in `test`).
# COLD=1 starts without any image of earlier runs; COMPOSE=v1|v2|both (default both).
# SENTINEL=1: the state profile (primary, 2 replicas, 3 sentinels) in place of the single
# Redis, its primary container killed with jobs in flight (one COMPOSE version is enough).
compose-drill: install-dev
	@COLD=$(COLD) DRILL_COMPOSE=$(COMPOSE) DRILL_SENTINEL=$(SENTINEL) .ci/compose-drill/drill.sh

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
