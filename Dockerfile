# Three images from one file:
#   docker build --target api    -t music-api .     # API, beat, Flower, maintenance worker: no torch
#   docker build --target worker -t music-worker .  # GPU workers: torch + diffusers
#   docker build --target encoder -t music-encoder . # encode queue: numpy + soundfile, CPU only
# docker-compose.yml builds all three. The worker stage stays last: the legacy
# builder (DOCKER_BUILDKIT=0) runs every stage above its target, so a stage
# after it would install CUDA torch (several GB) for an image without torch.
# No `# syntax=` line: nothing here needs a newer frontend than the builder's
# own, and that line makes BuildKit pull one from a registry on every build.

# Another base for the worker (the compose drill: one with CPU torch installed).
ARG PYTHON_IMAGE=python:3.11-slim
FROM ${PYTHON_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin app
WORKDIR /app

# --- API image: web, queue and storage dependencies only -------------------
FROM base AS api
COPY requirements-api.txt ./
RUN pip install -r requirements-api.txt
COPY celeryconfig.py gunicorn.conf.py ./
COPY storage/ storage/
COPY tasks/ tasks/
COPY web/ web/
# inference/ is imported for its stdlib-only parts (the job contract, seeds,
# errors): this image has no numpy, and tests/test_images.py runs Flower, beat
# and the maintenance worker with only these packages.
COPY inference/ inference/
# /var/lib/beat: beat's schedule file (a named volume inherits this owner).
RUN mkdir -p /app/var /var/lib/beat && chown app /app/var /var/lib/beat
USER app
EXPOSE 8000
CMD ["gunicorn", "-c", "gunicorn.conf.py", "-b", "0.0.0.0:8000", "web:create_app()"]

# --- Encoder image: WAV -> FLAC/MP3/Opus on CPU (queue `encode`), no torch ---
FROM base AS encoder
COPY requirements-api.txt requirements-encode.txt ./
RUN pip install -r requirements-encode.txt
# pedalboard's native module (the composer's effects, for exports) links
# libatomic, which the slim base lacks: without it the import fails.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libatomic1 \
 && rm -rf /var/lib/apt/lists/*
COPY celeryconfig.py ./
COPY storage/ storage/
COPY tasks/ tasks/
COPY inference/ inference/
USER app
CMD ["celery", "-A", "tasks", "worker", "-Q", "encode", "-n", "encode@%h", "--loglevel=INFO"]

# --- Worker image: everything, engines included ---------------------------
FROM base AS worker
COPY requirements-api.txt requirements-encode.txt requirements.txt ./
RUN pip install -r requirements.txt
# pedalboard (the composer's effects) links libatomic; the slim base lacks it.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libatomic1 \
 && rm -rf /var/lib/apt/lists/*
COPY celeryconfig.py ./
COPY storage/ storage/
COPY tasks/ tasks/
COPY inference/ inference/
RUN mkdir -p /app/var && chown app /app/var
USER app
# One process per GPU: the compose file pins a device to each worker service.
CMD ["celery", "-A", "tasks", "worker", "-Q", "music", "-c", "1", "-n", "gpu0@%h", "-E", \
     "--loglevel=INFO"]
