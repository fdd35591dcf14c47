"""Audio formats: encode speed and size at 120 s, and what mp3 costs a GPU worker.

* encode: a 120 s piece (the composer's render of a jazz prompt; the fixed
  engine's quiet noise if the composer is unavailable) is written as 16-bit WAV
  (the baseline: what the GPU worker does today) and encoded from that WAV to
  FLAC, MP3 and Opus by inference.encode, this process pinned to one core.
  Times are CPU seconds of this process (libsndfile encodes in it, on one
  thread), so a busy shared machine does not inflate them.
  Rows: encode CPU seconds per audio second (goal: >= 20x real time, i.e.
  <= 0.05 s/s) and the file size against the WAV's (FLAC <= 0.7, MP3 and
  Opus <= 0.15).
* worker: one `music` worker (-c 1, the fixed engine sleeping like a GPU) and
  one `encode` worker, each pinned to its own core as in a deployment (the
  encoder runs beside the GPU workers, on other cores), run rounds of N jobs
  of 120 s asking for wav, then N asking for mp3 (alternating, so a change in
  the machine's background load hits both). The GPU worker's time per job is
  the time from a round's first submit until every job of it has left the
  worker (finished, or handed to the encoder), over N; the mp3 rounds' total
  against the wav rounds' (goal <= 1.05). Each round waits for the encoder to
  finish the previous one.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from bench import common

SECONDS = 120
SIZE_GOALS = {"flac": 0.7, "mp3": 0.15, "opus": 0.15}
SPEED_GOAL = 0.05  # encode seconds per audio second: 20x real time
WORKER_GOAL = 1.05


@contextlib.contextmanager
def _one_core():
    previous = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(previous)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, previous)


def _piece():
    from inference import get_engine

    for name in ("composer", "fixed"):
        try:
            engine = get_engine(name)
            engine.setup()
            return name, engine.generate(prompt="jazz trio with piano", duration=SECONDS, seed=1)
        except Exception:  # a missing or broken composer: fall back to the fixed engine
            continue
    raise RuntimeError("no engine could render the benchmark piece")


def _encode_rows(quick: bool) -> list[dict]:
    from inference.encode import encode_file
    from inference.wav import write_wav

    source, audio = _piece()
    folder = common.SCRATCH / "formats"
    folder.mkdir(exist_ok=True)
    wav = folder / "piece.wav"
    repeats = 1 if quick else 3
    with _one_core():
        began = time.process_time()
        for _ in range(repeats):
            write_wav(wav, audio)
        wav_speed = (time.process_time() - began) / repeats / SECONDS
        wav_size = wav.stat().st_size
        rows = []
        for fmt, size_goal in SIZE_GOALS.items():
            dest = folder / f"piece.{fmt}"
            best = float("inf")
            for _ in range(repeats):
                began = time.process_time()
                encode_file(wav, dest, fmt)
                best = min(best, time.process_time() - began)
            speed = best / SECONDS
            size = Path(dest).stat().st_size
            rows.append(common.row(
                f"encode_{fmt}_s_per_audio_s", speed, "s/s", wav_speed,
                f"<= {SPEED_GOAL} ({1 / speed:.0f}x real time; baseline: WAV write)",
                speed <= SPEED_GOAL))
            rows.append(common.row(
                f"encode_{fmt}_size_vs_wav", size / 1e6, "MB", wav_size / 1e6,
                f"ratio <= {size_goal} ({source} piece, {SECONDS} s)",
                size / wav_size <= size_goal))
    return rows


def _gpu_time_per_job(fmt: str, n: int) -> float:
    from tasks.config.services import job_store
    from tasks.config.settings import get_settings
    from tasks.jobs.params import validate
    from tasks.jobs.submit import submit

    settings = get_settings()
    jobs = job_store(settings)
    params = validate(prompt="bench: formats", duration=SECONDS, seed=1, format=fmt)
    began = time.perf_counter()
    ids = [submit(jobs, settings, "bench", params)["job_id"] for _ in range(n)]

    def left_gpu(record: dict) -> bool:
        return record["status"] == "finished" or record.get("stage") == "encoding"

    pending = set(ids)
    while pending:
        if time.perf_counter() - began > 60 + 30 * n:
            raise RuntimeError(f"{len(pending)} {fmt} jobs never left the GPU worker")
        for job_id in list(pending):
            record = jobs.get(job_id)
            if record["status"] == "failed":
                raise RuntimeError(f"job failed: {record.get('error')}")
            if left_gpu(record):
                pending.discard(job_id)
        time.sleep(0.01)
    per_job = (time.perf_counter() - began) / n
    # Let the encoder finish before the next run, so runs do not overlap.
    deadline = time.perf_counter() + 60 * n
    while any(jobs.get(i)["status"] != "finished" for i in ids):
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{fmt} jobs never finished encoding")
        time.sleep(0.1)
    return per_job


def _pin(worker, core: int) -> None:
    import psutil

    parent = psutil.Process(worker.proc.pid)
    for process in (parent, *parent.children(recursive=True)):
        process.cpu_affinity([core])


def _worker_rows(quick: bool) -> list[dict]:
    latency_ms, n, rounds = (2000, 3, 1) if quick else (3000, 3, 3)
    cores = sorted(os.sched_getaffinity(0))
    common.flush()
    encoder = common.Worker(common.env(), "benchenc", common.SCRATCH / "benchenc.log",
                            queues="encode")
    encoder.start()
    wav = mp3 = 0.0
    try:
        with common.worker(FIXED_ENGINE_MS=str(latency_ms), FIXED_ENGINE_STEPS="4") as gpu:
            if len(cores) > 1:
                _pin(gpu, cores[0])
                _pin(encoder, cores[-1])
            _gpu_time_per_job("wav", 1)  # warm-up: imports, first connection
            for _ in range(rounds):
                wav += _gpu_time_per_job("wav", n) / rounds
                mp3 += _gpu_time_per_job("mp3", n) / rounds
    finally:
        encoder.stop()
        common.flush()
    return [common.row(
        "worker_s_per_job_mp3_vs_wav", mp3, "s", wav,
        f"<= {WORKER_GOAL} ({rounds}x{n} jobs of {SECONDS} s each, engine {latency_ms} ms)",
        mp3 / wav <= WORKER_GOAL)]


def run(quick: bool = False) -> list[dict]:
    return _encode_rows(quick) + _worker_rows(quick)


if __name__ == "__main__":
    import sys

    from bench.table import main

    sys.exit(main(run, __doc__.splitlines()[0], "one encode each, 3 jobs per format"))
