"""`python -m tasks.batch`: a real subprocess against a real worker (ENGINE=fixed)."""

from __future__ import annotations

import json
import os
import subprocess
import wave

import pytest

from tasks.batch_items import parse
from tests.support.services import run_python

pytestmark = pytest.mark.slow

GOOD_JSON = '{"prompt": "Smooth jazz with saxophone", "duration": 30, "genre": "jazz", "seed": 7}'
MIXED = "\n".join([
    GOOD_JSON,
    "Relaxing piano with gentle rain",  # plain text: default duration (60)
    "",
    '{"prompt": "broken json", "duration": 30',  # invalid JSON
    '{"prompt": "odd length", "duration": 45}',  # invalid duration
    '{"prompt": "x", "tempo": 120}',  # unknown field
    "x" * 501,  # prompt too long
    '["a", "list"]',  # plain text that happens to be JSON: a valid prompt
]) + "\n"


def run_batch(prompts, out, *extra, timeout=120) -> subprocess.CompletedProcess:
    return run_python("-m", "tasks.batch", str(prompts), "--out", str(out), "--poll", "0.1",
                      *extra, env=dict(os.environ), timeout=timeout)


def summary(out) -> dict[int, dict]:
    rows = [json.loads(line) for line in (out / "summary.jsonl").read_text().splitlines()]
    return {row["line"]: row for row in rows}


def test_ids_are_stable_and_bad_lines_are_items():
    first, second = parse(MIXED), parse(MIXED)
    assert [i.job_id for i in first] == [i.job_id for i in second]
    assert len({i.job_id for i in first}) == len(first)
    assert [i.line for i in first] == [1, 2, 4, 5, 6, 7, 8]
    bad = {i.line: i.error for i in first if i.error}
    assert set(bad) == {4, 5, 6, 7}
    assert "JSON" in bad[4] and "duration" in bad[5] and "tempo" in bad[6] and "500" in bad[7]
    # The same text on another line is another job.
    assert parse("a\nb\na")[0].job_id != parse("a\nb\na")[2].job_id


def test_batch_generates_downloads_and_resumes(worker, jobs, tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text(MIXED)
    out = tmp_path / "out"

    first = run_batch(prompts, out)
    assert first.returncode == 1, first.stderr  # bad lines make the batch fail
    rows = summary(out)
    assert {n: r["status"] for n, r in rows.items()} == {
        1: "done", 2: "done", 4: "failed", 5: "failed", 6: "failed", 7: "failed", 8: "done"}
    assert "invalid line" in rows[5]["note"]
    wavs = sorted(p.name for p in out.glob("*.wav"))
    assert wavs == ["0001-smooth-jazz-with-saxophone.wav",
                    "0002-relaxing-piano-with-gentle-rain.wav", "0008-a-list.wav"]
    with wave.open(str(out / wavs[0])) as w:
        assert (w.getnchannels(), w.getframerate(), w.getnframes()) == (2, 48000, 30 * 48000)
    with wave.open(str(out / wavs[1])) as w:
        assert w.getnframes() == 60 * 48000
    assert not list(out.glob("*.part"))
    # The job id is the task id: the record is the batch owner's, with the seed asked for.
    record = jobs.get(rows[1]["job_id"])
    assert record["owner"] == "batch" and record["seed"] == 7 and record["status"] == "finished"
    assert "line 1" in first.stderr and "submitted as" in first.stderr
    assert "status" in first.stdout.splitlines()[0]  # the summary table
    assert "3 done" in first.stdout and "4 failed" in first.stdout

    # Rerun: nothing is generated again.
    mtimes = {p: p.stat().st_mtime_ns for p in out.glob("*.wav")}
    second = run_batch(prompts, out)
    assert second.returncode == 1
    assert "submitted" not in second.stderr
    assert {n: r["status"] for n, r in summary(out).items() if r["status"] != "failed"} == {
        1: "skipped", 2: "skipped", 8: "skipped"}
    assert {p: p.stat().st_mtime_ns for p in out.glob("*.wav")} == mtimes


def test_batch_reattaches_to_running_jobs(worker_pool, settings, tmp_path):
    worker_pool.stop()  # nobody takes the jobs yet
    prompts = tmp_path / "good.jsonl"
    prompts.write_text(GOOD_JSON + "\n" + '{"prompt": "Lo-fi beat", "duration": 30}\n')
    out = tmp_path / "out"

    first = run_batch(prompts, out, "--timeout", "1")
    assert first.returncode == 1
    assert all(r["status"] == "pending" for r in summary(out).values())
    assert "rerun to re-attach" in first.stdout
    assert not list(out.glob("*.wav"))

    # Slow jobs: still queued or running when the second run looks (a 200 ms
    # worker could finish both before the batch process starts).
    worker_pool.ensure(FIXED_ENGINE_MS="3000")
    second = run_batch(prompts, out)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "re-attached" in second.stderr and "submitted" not in second.stderr
    assert {r["status"] for r in summary(out).values()} == {"done"}
    assert len(list(out.glob("*.wav"))) == 2

    # A failed job is submitted again on the next run.
    from tasks.config.services import job_store

    jobs = job_store()
    line1 = summary(out)[1]["job_id"]
    (out / summary(out)[1]["file"]).unlink()
    jobs.r.hset(f"job:{line1}", mapping={"status": "failed", "error": "engine crashed"})
    third = run_batch(prompts, out)
    assert third.returncode == 0, third.stdout + third.stderr
    assert "previous run failed (engine crashed); submitting again" in third.stderr
    assert summary(out)[1]["status"] == "done" and summary(out)[2]["status"] == "skipped"


def test_usage_errors(tmp_path):
    r = run_batch(tmp_path / "missing.txt", tmp_path / "out")
    assert r.returncode == 2 and "cannot read" in r.stderr
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    r = run_batch(empty, tmp_path / "out")
    assert r.returncode == 2 and "no prompts" in r.stderr


def test_batch_files_take_the_format_extension(worker, encode_worker, tmp_path):
    import soundfile as sf

    prompts = tmp_path / "song.jsonl"
    prompts.write_text("\n".join([
        json.dumps({"prompt": "sea shanty", "duration": 30, "format": "mp3",
                    "lyrics": "[verse]\nhaul away", "bpm": 96}),
        json.dumps({"prompt": "drone", "duration": 30, "format": "flac"}),
        json.dumps({"prompt": "plain", "duration": 30}),
    ]))
    out = tmp_path / "out"
    done = run_batch(prompts, out)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir() if p.name != "summary.jsonl") == [
        "0001-sea-shanty.mp3", "0002-drone.flac", "0003-plain.wav"]
    head = (out / "0001-sea-shanty.mp3").read_bytes()[:2]
    assert head[0] == 0xFF and head[1] & 0xE0 == 0xE0  # an MPEG frame's sync bits
    assert (out / "0002-drone.flac").read_bytes()[:4] == b"fLaC"
    assert abs(sf.info(str(out / "0002-drone.flac")).duration - 30) < 0.01


def test_batch_edit_lines(worker_pool, jobs, tmp_path, settings):
    import numpy as np
    import soundfile as sf

    worker_pool.ensure(ENGINE="composer")
    prompts, out = tmp_path / "source.jsonl", tmp_path / "out"
    prompts.write_text('{"prompt": "calm folk guitar", "duration": 30, "seed": 2, '
                       '"format": "flac"}\n')
    assert run_batch(prompts, out).returncode == 0
    source_id = parse(prompts.read_text())[0].job_id
    edits = tmp_path / "edits.jsonl"
    edits.write_text("\n".join([
        json.dumps({"task": "repaint", "source_job": source_id, "start": 6, "end": 12,
                    "seed": 1}),
        json.dumps({"task": "extend", "source_job": "nosuchjob123"}),
    ]) + "\n")
    run = run_batch(edits, out, timeout=180)
    assert run.returncode == 1, run.stderr
    rows = summary(out)
    assert rows[2]["status"] == "failed" and "Job not found" in rows[2]["note"]
    assert rows[1]["status"] == "done", rows[1]
    # the edit keeps its source's format, and the source's samples outside the new bars
    (edited,) = out.glob("0001-repaint-*.flac")
    (source,) = out.glob("0001-calm-folk-guitar.flac")
    a, _ = sf.read(edited, dtype="int16")
    b, _ = sf.read(source, dtype="int16")
    record = jobs.get(parse(edits.read_text())[0].job_id)
    new = record["segments"][1]
    assert new["kind"] == "new" and new["start"] <= 6 and new["end"] >= 12
    cut = round(new["start"] * 48000)
    assert np.array_equal(a[:cut], b[:cut]) and a.shape == b.shape
