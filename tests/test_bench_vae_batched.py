"""The batched-vs-loop class-VAE benchmark runs end to end on tiny settings."""

from __future__ import annotations

import json

import torch
from conftest import MNIST_HOME, load_benchmark


def test_bench_vae_batched_tiny_with_profile(tmp_path):
    bench = load_benchmark("bench_vae_batched.py", "bench_vae_batched")
    threads = torch.get_num_threads()
    argv = ["--sizes", "3", "--steps", "1", "--repeats", "1", "--no-digits"]
    argv += ["--profile", "3", "--profile-top", "2", "--threads", "1"]
    argv += ["--data-home", str(MNIST_HOME), "--out", str(tmp_path)]
    try:
        assert bench.main(argv) == 0
    finally:
        torch.set_num_threads(threads)
    result = json.loads((tmp_path / "bench_vae_batched.json").read_text())
    (timed,) = result["tables"]["Per-class loop vs batched, ConvVAE on MNIST 28x28"]
    assert timed["n/class"] == 3 and timed["steps/model"] == 1
    assert timed["speed-up"] > 0
    profiled = result["tables"]["Where the time goes, 3 images per class (torch.profiler)"]
    assert [r["mode"] for r in profiled] == ["loop", "loop", "batched", "batched"]
    assert all(r["self ms"] > 0 and 0 < r["% of mode"] <= 100 for r in profiled)
    # sorted costliest first within each mode
    assert profiled[0]["self ms"] >= profiled[1]["self ms"]
    assert "Where the time goes" in (tmp_path / "bench_vae_batched.md").read_text()
