# The worker's base for the drill: the python:3.11-slim stand-in with the
# machine's local CPU torch wheel preinstalled, so the project's
# `pip install -r requirements.txt` finds torch==2.13.0 satisfied instead of
# downloading the CUDA build (about 2.9 GB).
FROM python:3.11-slim
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY torch-*.whl /tmp/
RUN pip install /tmp/torch-*.whl && rm /tmp/torch-*.whl
