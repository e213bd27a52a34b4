"""The class-VAE throughput benchmark runs end to end on tiny settings."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import MNIST_HOME, load_benchmark


@pytest.fixture(scope="module")
def bench_vae():
    """benchmarks/bench_vae.py imported as a module."""
    return load_benchmark("bench_vae.py", "bench_vae")


@pytest.mark.parametrize("bf16", [True, False])
def test_bench_vae_tiny_writes_every_mode(bench_vae, tmp_path, bf16):
    threads = torch.get_num_threads()
    argv = ["--sizes", "5", "--repeats", "1", "--steps", "1", "--min-images", "4"]
    argv += ["--gen-batch", "8", "--gen-repeats", "1", "--threads", "1"]
    argv += ["--data-home", str(MNIST_HOME), "--out", str(tmp_path)]
    argv += [] if bf16 else ["--no-bf16"]
    try:
        assert bench_vae.main(argv) == 0
    finally:
        torch.set_num_threads(threads)
    result = json.loads((tmp_path / "bench_vae.json").read_text())
    rows = result["tables"]["Training throughput"]
    modes = [row["mode"] for row in rows]
    expected = ["train_vae", "step loop"] + (["train_vae bf16"] if bf16 else [])
    assert modes == expected
    assert rows[0]["vs fp32"] == pytest.approx(1.0)
    assert all(row["images/s"] > 0 and row["steps"] >= 1 for row in rows)
    assert ("bf16 matmul peak" in result["meta"]) is bf16
    assert all((row["% bf16 peak"] is not None) is bf16 for row in rows)
    assert "bench_vae" in (tmp_path / "bench_vae.md").read_text()
