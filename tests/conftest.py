"""Shared fixtures: the repository's MNIST copy and small data sets.

Exact or close: a test asserts bit-equality (``torch.equal``,
``assert_array_equal``, ``==`` on floats) only where the code promises it: the
same code path, seed and thread count, e.g. two fits with one seed, a pickle
round trip, a ``VAEOversampler(memory=...)`` cache hit (it returns what was
stored). Across code paths (batched vs per-class loop, bf16 vs fp32, vmap vs
loop, grouped vs separate convolutions, other batch sizes or model counts,
other thread counts, CPU vs GPU, fused vs unfused kernels, other memory
layouts) float results differ by rounding, and the size of that depends on the
CPU: such tests assert closeness, with the tolerance argued in a comment from
what the code promises (e.g. "float32 rounding over 2 RMSprop steps: observed
up to 2.1e-5 on Intel AVX-512, so 1e-3") and still far below what a real bug
(another seed, a skipped class or step: 1e-2 and more) would give.

Portability was checked on an AMD EPYC by running the training tests under
settings that change which kernels run, as another CPU would:
``ATEN_CPU_CAPABILITY=avx2`` and ``=default`` (torch's own SIMD kernels),
``MKL_CBWR=COMPATIBLE`` (MKL's generic GEMM code path; it reproduced the Intel
AVX-512 failure of issue #30, which the ATEN settings did not) and
``OMP_NUM_THREADS=1`` vs ``2`` (loky workers follow ``MKL_NUM_THREADS``), e.g.
``MKL_CBWR=COMPATIBLE python -m pytest -q tests/test_batched_vae.py``.
A new exact assertion on trained weights or scores should pass under these too.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from skvae.datasets import load_digits, load_mnist

MNIST_HOME = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
BENCH_DIR = Path(__file__).resolve().parents[1] / "benchmarks"


def load_benchmark(filename: str, name: str | None = None):
    """A script of ``benchmarks/`` imported as a module (its neighbour ``_cli`` found)."""
    spec = importlib.util.spec_from_file_location(name or Path(filename).stem, BENCH_DIR / filename)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(BENCH_DIR))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH_DIR))
    return module


@pytest.fixture(scope="session")
def mnist():
    """MNIST from ../shared/data/mnist; a missing copy fails, it never skips."""
    assert MNIST_HOME.is_dir(), f"MNIST test data missing: expected it in {MNIST_HOME}"
    return load_mnist(MNIST_HOME, download=False)


@pytest.fixture(scope="session")
def digits():
    return load_digits()


@pytest.fixture
def small_digits(digits):
    """120 digits rows, 12 per class, float32 in [0, 1]."""
    rows = np.concatenate([np.flatnonzero(digits.target == c)[:12] for c in range(10)])
    return digits.data[rows], digits.target[rows]


@pytest.fixture
def one_torch_thread():
    """Cells run in this process use one torch thread, like loky's and dask's workers.

    On a busy 2-core machine two spinning OpenMP threads per tiny network make
    such runs many times slower. Use with ``pytest.mark.usefixtures``.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def count_vae_training(monkeypatch):
    """A list that grows by one each time a VAEOversampler really trains its VAEs.

    Counts the calls of the trainers its fit_resample runs on a cache miss
    (one per fit: all class-VAEs, or the one conditional VAE).
    """
    import skvae.oversampler

    calls = []

    def counted(train):
        def counting(*args, **kwargs):
            calls.append(1)
            return train(*args, **kwargs)

        return counting

    for name in ("fit_class_vaes", "fit_conditional_vae"):
        monkeypatch.setattr(skvae.oversampler, name, counted(getattr(skvae.oversampler, name)))
    return calls


def result_row(dataset, size, latent, condition, seed, f1, n_test=7000) -> dict:
    """One ``results.csv`` row with the columns the report reads (accuracy = F1)."""
    return dict(
        dataset=dataset,
        size=size,
        latent=latent,
        condition=condition,
        seed=seed,
        f1=f1,
        accuracy=f1,
        n_test=n_test,
    )
