"""The matmul peak: the yardstick of a benchmark's "% of peak".

:func:`measure_matmul_peak` times ``torch.matmul`` in the calling process, with
its thread settings, so a network's achieved GFLOP/s can be compared with what
the same process gets from a large GEMM. :func:`combine_peaks` merges the
measurements taken before and after a benchmark.
"""

from __future__ import annotations

import time

import torch

from .timing import median, synchronize

__all__ = ["combine_peaks", "measure_matmul_peak"]


def measure_matmul_peak(
    dtype: torch.dtype = torch.float32,
    n: int = 2048,
    repeats: int = 5,
    min_seconds: float = 0.3,
    warmup: int = 2,
    device: torch.device | str = "cpu",
) -> dict:
    """GFLOP/s of ``torch.matmul`` of two ``n x n`` matrices of ``dtype`` on ``device``.

    Runs in the calling process with its thread settings. Each repeat times
    enough back-to-back products to last at least ``min_seconds``. A product
    of two ``n x n`` matrices counts ``2 n^3`` FLOPs.

    Parameters
    ----------
    dtype : torch.dtype, default=torch.float32
    n : int, default=2048
        Rows and columns of both matrices.
    repeats : int, default=5
        Timed samples.
    min_seconds : float, default=0.3
        Least duration of one sample.
    warmup : int, default=2
        Untimed products before the samples.
    device : torch.device or str, default="cpu"

    Returns
    -------
    dict
        ``dtype``, ``n``, ``device``, ``threads``, the median GFLOP/s
        (``gflops``), the best (``gflops_max``) and every sample (``samples``,
        rounded to 2 decimals).
    """
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=gen).to(device, dtype)
    b = torch.randn(n, n, generator=gen).to(device, dtype)
    out = torch.empty(n, n, dtype=dtype, device=device)
    flops = 2.0 * n**3
    for _ in range(warmup):
        torch.matmul(a, b, out=out)
    synchronize(device)
    start = time.perf_counter()
    torch.matmul(a, b, out=out)
    synchronize(device)
    one = max(time.perf_counter() - start, 1e-6)
    inner = max(1, int(min_seconds / one))
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            torch.matmul(a, b, out=out)
        synchronize(device)
        samples.append(flops * inner / (time.perf_counter() - start) / 1e9)
    return {
        "dtype": str(dtype).replace("torch.", ""),
        "n": n,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "gflops": median(samples),
        "gflops_max": max(samples),
        "samples": [round(s, 2) for s in samples],
    }


def combine_peaks(*peaks: dict) -> dict:
    """One peak from several measurements (e.g. before and after a benchmark).

    ``gflops`` becomes the best sample of all: other processes sharing the cores
    can only slow a measurement down, so the best one is the closest to what the
    machine can do. The per-measurement medians are kept to show drift.

    Parameters
    ----------
    *peaks : dict
        Results of :func:`measure_matmul_peak`.

    Returns
    -------
    dict
        The first peak's entries with ``samples`` (all of them), ``gflops`` and
        ``gflops_max`` (the best sample), ``gflops_median`` and
        ``medians_per_measurement``.
    """
    samples = [s for p in peaks for s in p["samples"]]
    out = dict(peaks[0])
    out["samples"] = samples
    out["gflops"] = max(samples)
    out["gflops_median"] = median(samples)
    out["gflops_max"] = max(samples)
    out["medians_per_measurement"] = [round(p["gflops"], 2) for p in peaks]
    return out
