#!/usr/bin/env bash
# The one prepared command for a lent GPU machine (H100/H200: torch installed,
# no diffusers, no network). From the repository root, with .whl/ carried:
#
#   bash bench/gpu_run.sh            # turbo and xl-turbo; SIZES="turbo" for one
#
# Installs the carried wheels (.whl/*.whl, see README "GPU benchmark") into
# /tmp/site, prints the versions, runs `python -m bench.gpu` and copies the
# result JSON and the log into $OUT when the device tool sets it.
set -euo pipefail
cd "$(dirname "$0")/.."
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl
  export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONUNBUFFERED=1
python3 -c 'import torch, diffusers, transformers; print("torch", torch.__version__,
  "diffusers", diffusers.__version__, "transformers", transformers.__version__,
  "cuda", torch.cuda.is_available() and torch.cuda.get_device_name())'
log="${OUT:-/tmp}/gpu-bench.log"
status=0
# shellcheck disable=SC2086  # SIZES is a word list on purpose
python3 -m bench.gpu --sizes ${SIZES:-turbo xl-turbo} "$@" 2>&1 | tee "$log" || status=$?
if [ -n "${OUT:-}" ]; then cp bench/results/*.json "$OUT"/ 2>/dev/null || true; fi
exit "$status"
