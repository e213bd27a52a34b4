"""The benchmark scripts' shared options (benchmarks/_cli.py)."""

from __future__ import annotations

import argparse

from conftest import BENCH_DIR, load_benchmark


def test_add_vae_args_defaults():
    cli = load_benchmark("_cli.py", "bench_cli")
    parser = argparse.ArgumentParser()
    cli.add_vae_args(parser)
    args = parser.parse_args(["--sizes", "5,10"])
    assert args.sizes == [5, 10] and args.latent == 3 and args.batch_size == 100
    assert args.validation_fraction == 0.15


def test_add_common_args_defaults():
    cli = load_benchmark("_cli.py", "bench_cli")
    parser = argparse.ArgumentParser()
    cli.add_common_args(parser)
    args = parser.parse_args([])
    assert args.threads is None and args.out == BENCH_DIR / "results"
    assert args.data_home == BENCH_DIR.parents[1] / "shared" / "data" / "mnist"
