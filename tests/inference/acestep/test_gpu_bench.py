"""`make gpu-bench` without CUDA: the same code on the tiny pipeline, so it cannot rot."""

from __future__ import annotations

import json

import pytest
import torch

from bench import gpu


@pytest.mark.skipif(torch.cuda.is_available(), reason="the CPU variant of the GPU bench")
def test_gpu_bench_runs_through_the_engine_on_the_tiny_pipeline(tmp_path, capsys):
    out = tmp_path / "result.json"
    assert gpu.main(["--out", str(out), "--durations", "1", "2", "--repeats", "2"]) == 0
    result = json.loads(out.read_text())
    tiny = result["sizes"]["tiny"]
    assert (result["device"], result["dtype"], result["steps"]) == ("cpu", "float32", 8)
    for seconds in ("1", "2"):
        d = tiny["durations"][seconds]
        assert d["finite"] and d["peak_abs"] > 1e-6 and d["same_seed_same_audio"]
        # The hooks saw every stage; together they are the bulk of the call.
        assert all(d[f"{stage}_s"] > 0 for stage in gpu.STAGES)
        assert d["other_s"] < d["total_s"]
        assert d["s_per_audio_s"] == pytest.approx(d["total_s"] / int(seconds))
    assert {b: tiny["batches"][b]["shape"] for b in ("1", "2", "4")} == {
        "1": [1, 2, 48_000], "2": [2, 2, 48_000], "4": [4, 2, 48_000]}
    assert tiny["oom"] == {"simulated": True, "error": "out of GPU memory", "next_job_ok": True,
                           "cap_gib": None, "allocated_after_gib": None}
    table = capsys.readouterr().out
    assert "tiny 2s   denoise" in table and "tiny batch 4 throughput" in table
    assert "FAIL" not in table


def test_the_stage_clock_leaves_the_pipeline_as_it_found_it():
    from tests.support.acestep_sizes import build_pipeline

    pipe = build_pipeline("tiny")
    clock = gpu.StageClock(torch, pipe, cuda=False)
    assert "decode" in vars(pipe.vae)
    clock.close()
    assert "decode" not in vars(pipe.vae)
    assert not pipe.transformer._forward_hooks and not pipe.transformer._forward_pre_hooks


def test_invalid_audio_is_reported_not_fatal():
    bench = gpu.Bench(torch, "tiny", steps=2, cuda=False)
    with torch.no_grad():
        bench.engine._pipe.transformer.proj_in_conv.weight.fill_(float("nan"))
    d = bench.duration(1, repeats=1)
    assert d["finite"] is False and d["same_seed_same_audio"] is False
    assert d["total_s"] > 0 and d["denoise_s"] > 0
    rows = gpu.rows({"device_total_gib": None, "total_s": 1.0, "sizes": {"tiny": {
        "params": bench.params, "build_s": bench.build_s, "durations": {"1": d},
        "batches": {}, "oom": {"simulated": True, "error": None, "next_job_ok": True}}}},
        budget_s=60)
    verdicts = {row["name"]: row.get("ok") for row in rows}
    assert verdicts["tiny 1s finite, non-silent"] is False
    assert verdicts["tiny OOM -> error, next job ok (simulated)"] is False
